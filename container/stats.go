package container

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stats is one reading of a running container's resource use, as Docker's stats API reports it:
// from the container's cgroup (v1 controllers, or the unified v2 hierarchy), its network
// namespace's interfaces, and the host's CPU time for the percentages.
type Stats struct {
	Read        time.Time
	CPUUsage    uint64 // ns the container's processes have run
	SystemUsage uint64 // ns of CPU time the host has had, all CPUs (Docker's system_cpu_usage)
	OnlineCPUs  int
	MemUsage    uint64 // bytes, page cache that can be dropped (inactive files) left out, as Docker's CLI shows it
	MemLimit    uint64 // the cgroup's limit, or the host's memory when that is less
	NetRx       uint64 // bytes, all interfaces but lo
	NetTx       uint64
	BlockRead   uint64
	BlockWrite  uint64
	Pids        uint64
}

// CPUPercent is Docker's CPU %: the container's share of the host's CPU time between two
// readings, times the number of CPUs (a busy loop on one CPU is 100%).
func CPUPercent(prev, cur Stats) float64 {
	cpu := float64(cur.CPUUsage) - float64(prev.CPUUsage)
	sys := float64(cur.SystemUsage) - float64(prev.SystemUsage)
	if cpu <= 0 || sys <= 0 {
		return 0
	}
	return cpu / sys * float64(cur.OnlineCPUs) * 100
}

// MemPercent is Docker's MEM %.
func (s Stats) MemPercent() float64 {
	if s.MemLimit == 0 {
		return 0
	}
	return float64(s.MemUsage) / float64(s.MemLimit) * 100
}

// cgroupRoot is where the cgroup file systems are mounted.
var cgroupRoot = "/sys/fs/cgroup"

// ErrNotRunning is Stats of a container whose processes are not running: its figures are zeros.
var ErrNotRunning = errors.New("container is not running")

// Stats reads the resource use of a running container (ref: ID, name or prefix).
func (m *Manager) Stats(ref string) (Stats, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return Stats{}, err
	}
	if !st.Running() {
		return Stats{}, ErrNotRunning
	}
	s := Stats{Read: time.Now().UTC()}
	s.SystemUsage, s.OnlineCPUs = systemCPU()
	cg := strings.TrimPrefix(c.Host.CgroupsPath(c.ID), "/") // the spec's cgroupsPath
	if unified() {
		dir := filepath.Join(cgroupRoot, cg)
		st := keyValues(filepath.Join(dir, "cpu.stat"))
		s.CPUUsage = st["usage_usec"] * 1000
		s.MemUsage = readUint(filepath.Join(dir, "memory.current"))
		if inactive := keyValues(filepath.Join(dir, "memory.stat"))["inactive_file"]; inactive < s.MemUsage {
			s.MemUsage -= inactive
		}
		s.MemLimit = readUint(filepath.Join(dir, "memory.max")) // "max" reads as 0: the host's
		for _, line := range readLines(filepath.Join(dir, "io.stat")) {
			f := strings.Fields(line) // "8:0 rbytes=4096 wbytes=0 ..."
			if len(f) < 2 {
				continue
			}
			for _, f := range f[1:] {
				k, v, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "rbytes":
					s.BlockRead += n
				case "wbytes":
					s.BlockWrite += n
				}
			}
		}
		s.Pids = readUint(filepath.Join(dir, "pids.current"))
	} else {
		s.CPUUsage = readUint(filepath.Join(cgroupRoot, "cpuacct", cg, "cpuacct.usage"))
		mem := filepath.Join(cgroupRoot, "memory", cg)
		s.MemUsage = readUint(filepath.Join(mem, "memory.usage_in_bytes"))
		if inactive := keyValues(filepath.Join(mem, "memory.stat"))["total_inactive_file"]; inactive < s.MemUsage {
			s.MemUsage -= inactive
		}
		s.MemLimit = readUint(filepath.Join(mem, "memory.limit_in_bytes"))
		for _, line := range readLines(filepath.Join(cgroupRoot, "blkio", cg, "blkio.throttle.io_service_bytes_recursive")) {
			f := strings.Fields(line) // "8:0 Read 4096"
			if len(f) != 3 {
				continue
			}
			n, _ := strconv.ParseUint(f[2], 10, 64)
			switch strings.ToLower(f[1]) {
			case "read":
				s.BlockRead += n
			case "write":
				s.BlockWrite += n
			}
		}
		s.Pids = readUint(filepath.Join(cgroupRoot, "pids", cg, "pids.current"))
	}
	if host := hostMemory(); s.MemLimit == 0 || host > 0 && s.MemLimit > host {
		s.MemLimit = host
	}
	if pid := m.pid(c.ID, st); pid > 0 && c.Host.NetworkMode != "host" {
		s.NetRx, s.NetTx = netBytes(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	}
	return s, nil
}

// pid is the container's init as the record or (for a foreground container, whose PID is not
// recorded) the runtime's pid file says.
func (m *Manager) pid(id string, st State) int {
	if !st.Running() || st.Restarting() || st.Pid != 0 {
		return st.Pid
	}
	b, err := os.ReadFile(filepath.Join(m.dir(id), "init.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// unified reports a host with only the v2 hierarchy (no v1 controllers).
func unified() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// systemCPU is the host's CPU time in ns (user..softirq of /proc/stat's cpu line, as Docker
// counts it) and its number of online CPUs.
func systemCPU() (uint64, int) {
	var total uint64
	cpus := 0
	for _, line := range readLines("/proc/stat") {
		f := strings.Fields(line)
		switch {
		case len(f) > 7 && f[0] == "cpu":
			for _, v := range f[1:8] {
				n, _ := strconv.ParseUint(v, 10, 64)
				total += n
			}
		case strings.HasPrefix(f[0], "cpu"):
			cpus++
		}
	}
	const clockTicks = 100 // USER_HZ, what /proc/stat counts in on Linux
	return total * (uint64(time.Second) / clockTicks), cpus
}

func hostMemory() uint64 {
	for _, line := range readLines("/proc/meminfo") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// netBytes sums received and sent bytes of a /proc/PID/net/dev's interfaces but lo (Docker
// reports the container's endpoints).
func netBytes(path string) (rx, tx uint64) {
	for _, line := range readLines(path) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func readUint(path string) uint64 {
	b, _ := os.ReadFile(path)
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// keyValues reads a cgroup "key value" file (memory.stat, cpu.stat).
func keyValues(path string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range readLines(path) {
		if k, v, ok := strings.Cut(line, " "); ok {
			out[k], _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return out
}
