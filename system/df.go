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
