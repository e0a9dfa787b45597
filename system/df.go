package system

import (
	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
)

// DiskUsage is `system df` (and GET /system/df): every image, container, volume and build cache
// record with the space it takes.
type DiskUsage struct {
	Images     image.DiskUsage
	Containers []container.Summary // with SizeRw filled in
	Volumes    []VolumeUsage
	BuildCache []build.CacheRecord
}

// VolumeUsage is a volume and the bytes under its directory.
type VolumeUsage struct {
	container.Volume
	Size int64
}

// CollectDiskUsage measures the store.
func CollectDiskUsage(s *image.Store) (DiskUsage, error) {
	var du DiskUsage
	var err error
	if du.Images, err = s.DiskUsage(); err != nil {
		return du, err
	}
	m := container.New(s)
	list, err := m.List()
	if err != nil {
		return du, err
	}
	for _, c := range list {
		c.SizeRw, _ = m.SizeRw(c.ID)
		du.Containers = append(du.Containers, c)
	}
	vols, err := m.Volumes()
	if err != nil {
		return du, err
	}
	for _, v := range vols {
		du.Volumes = append(du.Volumes, VolumeUsage{Volume: v, Size: m.VolumeSize(v.Name)})
	}
	du.BuildCache, err = build.CacheUsage(s)
	return du, err
}

// Usage is one row of `system df`: how many objects, how many in use, their size and what
// removing the unused ones would free (Docker's ImageUsage, ContainerUsage, ... of API 1.52).
type Usage struct {
	TotalCount  int64
	ActiveCount int64
	TotalSize   int64
	Reclaimable int64
}

// ImageUsage: the layers' size once each; an image used by a container keeps its own layers.
func (du DiskUsage) ImageUsage() Usage {
	u := Usage{TotalCount: int64(len(du.Images.Images)), TotalSize: du.Images.LayersSize}
	var used int64
	for _, i := range du.Images.Images {
		if i.Containers > 0 {
			u.ActiveCount++
			used += i.Size - i.SharedSize
		}
	}
	u.Reclaimable = du.Images.LayersSize - used
	return u
}

// ContainerUsage: writable layers; those of containers not running are reclaimable.
func (du DiskUsage) ContainerUsage() Usage {
	var u Usage
	for _, c := range du.Containers {
		u.TotalCount++
		u.TotalSize += c.SizeRw
		if c.State.Running() {
			u.ActiveCount++
		} else {
			u.Reclaimable += c.SizeRw
		}
	}
	return u
}

// VolumeUsage: volumes no container uses are reclaimable.
func (du DiskUsage) VolumeUsage() Usage {
	var u Usage
	for _, v := range du.Volumes {
		u.TotalCount++
		u.TotalSize += v.Size
		if v.Links > 0 {
			u.ActiveCount++
		} else {
			u.Reclaimable += v.Size
		}
	}
	return u
}

// BuildCacheUsage counts what is not shared with images: nothing is in use between builds,
// so all of it is reclaimable.
func (du DiskUsage) BuildCacheUsage() Usage {
	u := Usage{TotalCount: int64(len(du.BuildCache))}
	for _, c := range du.BuildCache {
		if !c.Shared {
			u.TotalSize += c.Size
		}
	}
	u.Reclaimable = u.TotalSize
	return u
}
