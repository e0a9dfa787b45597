package compose

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// ServiceHash is Docker Compose's config hash of a service: the SHA-256 of its JSON without what
// does not change a container (build, pull policy, scale, replicas, depends_on, profiles, and
// env_file, whose variables are in environment).
// Containers whose com.docker.compose.config-hash differs are recreated by up.
//
// Docker Compose v2.40.3 marshals compose-go v2.9's ServiceConfig; berth loads with v2.16, whose
// ServiceConfig has the same attributes in another order (split into ContainerSpec and
// WorkloadSpec) and a bind's create_host_path that marshals differently (it became opt-out).
// The JSON is rewritten into v2.9's shape, so a container made by one is left alone by the
// other's up. One difference cannot be undone: v2.16 defaults create_host_path to true in a
// long-syntax bind: map that does not set it, where v2.9 leaves it false.
func ServiceHash(s types.ServiceConfig) (string, error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	s.DependsOn = nil
	s.Profiles = nil
	// Compose's up and create load with the env files discarded once read into environment.
	s.EnvFiles = nil
	b, err := serviceJSONv29(s)
	if err != nil {
		return "", fmt.Errorf("hashing service %s: %w", s.Name, err)
	}
	return sha256Hex(b), nil
}

// serviceKeysV29 is the order compose-go v2.9's ServiceConfig marshals its attributes in. Keys
// v2.16 added (pre_start, pull_refresh_after, umask, …) are not there: Compose v2.40.3 cannot
// know them, so they are left out of the hash.
var serviceKeysV29 = []string{
	"profiles", "annotations", "attach", "build", "develop", "blkio_config", "cap_add", "cap_drop",
	"cgroup_parent", "cgroup", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
	"cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command", "configs", "container_name",
	"credential_spec", "depends_on", "deploy", "device_cgroup_rules", "devices", "dns", "dns_opt",
	"dns_search", "dockerfile", "domainname", "entrypoint", "provider", "environment", "env_file",
	"expose", "extends", "external_links", "extra_hosts", "group_add", "gpus", "hostname",
	"healthcheck", "image", "init", "ipc", "isolation", "labels", "label_file", "links", "logging",
	"log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness",
	"mac_address", "models", "net", "network_mode", "networks", "oom_kill_disable", "oom_score_adj",
	"pid", "pids_limit", "platform", "ports", "privileged", "pull_policy", "read_only", "restart",
	"runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
	"stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user",
	"userns_mode", "uts", "volume_driver", "volumes", "volumes_from", "working_dir", "post_start",
	"pre_stop",
}

// volumeV29 is v2.9's ServiceVolumeConfig: a bind's create_host_path is a plain bool there.
type volumeV29 struct {
	Type        string                     `json:"type,omitempty"`
	Source      string                     `json:"source,omitempty"`
	Target      string                     `json:"target,omitempty"`
	ReadOnly    bool                       `json:"read_only,omitempty"`
	Consistency string                     `json:"consistency,omitempty"`
	Bind        *bindV29                   `json:"bind,omitempty"`
	Volume      *types.ServiceVolumeVolume `json:"volume,omitempty"`
	Tmpfs       *types.ServiceVolumeTmpfs  `json:"tmpfs,omitempty"`
	Image       *types.ServiceVolumeImage  `json:"image,omitempty"`
}

type bindV29 struct {
	SELinux        string `json:"selinux,omitempty"`
	Propagation    string `json:"propagation,omitempty"`
	CreateHostPath bool   `json:"create_host_path,omitempty"`
	Recursive      string `json:"recursive,omitempty"`
}

// serviceJSONv29 is s as compose-go v2.9 marshals a ServiceConfig.
func serviceJSONv29(s types.ServiceConfig) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(b, &attrs); err != nil {
		return nil, err
	}
	if len(s.Volumes) > 0 {
		vols := make([]volumeV29, len(s.Volumes))
		for i, v := range s.Volumes {
			vols[i] = volumeV29{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly,
				Consistency: v.Consistency, Volume: v.Volume, Tmpfs: v.Tmpfs, Image: v.Image}
			if b := v.Bind; b != nil {
				vols[i].Bind = &bindV29{b.SELinux, b.Propagation, bool(b.CreateHostPath), b.Recursive}
			}
		}
		if attrs["volumes"], err = json.Marshal(vols); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for _, k := range serviceKeysV29 {
		v, ok := attrs[k]
		if !ok {
			continue
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		out.Write(key)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
