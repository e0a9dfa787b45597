// Package deploy holds deployment examples; its test checks that they say what they mean.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/berth-engine/berth/registry"
	"go.yaml.in/yaml/v3"
)

// The fields of the Kubernetes objects the example uses, as the API names them (apps/v1
// Deployment, v1 Service and Secret, batch/v1 CronJob). Decoding is strict: a misspelt or
// misplaced field is an error, as `kubectl apply` with validation would report it.
type object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   meta              `yaml:"metadata"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
}

type meta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type deploymentSpec struct {
	Replicas int `yaml:"replicas"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Strategy struct {
		Type          string `yaml:"type"`
		RollingUpdate struct {
			MaxUnavailable int `yaml:"maxUnavailable"`
			MaxSurge       int `yaml:"maxSurge"`
		} `yaml:"rollingUpdate"`
	} `yaml:"strategy"`
	Template podTemplate `yaml:"template"`
}

type podTemplate struct {
	Metadata meta    `yaml:"metadata"`
	Spec     podSpec `yaml:"spec"`
}

type podSpec struct {
	RestartPolicy string      `yaml:"restartPolicy"`
	Containers    []container `yaml:"containers"`
	Volumes       []struct {
		Name   string `yaml:"name"`
		Secret struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port string `yaml:"port"`
	} `yaml:"tcpSocket"`
	PeriodSeconds int `yaml:"periodSeconds"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type serviceSpec struct {
	Type     string            `yaml:"type"`
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type cronJobSpec struct {
	Schedule          string `yaml:"schedule"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec struct {
			Template podTemplate `yaml:"template"`
		} `yaml:"spec"`
	} `yaml:"jobTemplate"`
}

func strict(n *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	return dec.Decode(v)
}

// TestRegistryManifest decodes deploy/registry.yaml strictly into the Kubernetes fields it uses
// and checks what makes the replicas work: the registry's config (loaded by the registry
// package itself) on S3 with a shared token key, a Service selecting the Deployment's pods on
// the container's port, the config mounted where the arguments say, and a GC CronJob.
func TestRegistryManifest(t *testing.T) {
	f, err := os.Open("registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	byKind := map[string]object{}
	var deploy deploymentSpec
	var svc serviceSpec
	var cron cronJobSpec
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"Secret": "v1", "Service": "v1", "Deployment": "apps/v1", "CronJob": "batch/v1"}[o.Kind]
		if want == "" || o.APIVersion != want || o.Metadata.Name == "" {
			t.Fatalf("object %s %s %q: want apiVersion %q and a name", o.APIVersion, o.Kind, o.Metadata.Name, want)
		}
		byKind[o.Kind] = o
		switch o.Kind {
		case "Deployment":
			err = strict(&o.Spec, &deploy)
		case "Service":
			err = strict(&o.Spec, &svc)
		case "CronJob":
			err = strict(&o.Spec, &cron)
		}
		if err != nil {
			t.Fatalf("%s spec: %v", o.Kind, err)
		}
	}
	if len(byKind) != 4 {
		t.Fatalf("kinds: %v", byKind)
	}

	// The registry's own configuration, as `berth registry serve --config` reads it.
	secret := byKind["Secret"]
	cfgFile := t.TempDir() + "/config.json"
	if err := os.WriteFile(cfgFile, []byte(secret.StringData["config.json"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := registry.LoadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3 == nil || cfg.S3.Bucket == "" || cfg.Auth.Token == nil || cfg.Auth.Token.Key == "" || len(cfg.TrustedProxies) == 0 {
		b, _ := json.Marshal(cfg)
		t.Fatalf("config must select S3, a shared token key and trusted proxies: %s", b)
	}
	if _, ok := secret.StringData["htpasswd"]; !ok || !strings.HasSuffix(cfg.Htpasswd, "/htpasswd") {
		t.Fatalf("htpasswd %q not in the secret", cfg.Htpasswd)
	}

	if deploy.Replicas < 2 || deploy.Strategy.RollingUpdate.MaxUnavailable != 0 {
		t.Fatalf("replicas %d, maxUnavailable %d", deploy.Replicas, deploy.Strategy.RollingUpdate.MaxUnavailable)
	}
	pod := deploy.Template
	for k, v := range deploy.Selector.MatchLabels {
		if pod.Metadata.Labels[k] != v || svc.Selector[k] != v {
			t.Fatalf("selector %s=%s does not match the pods or the service", k, v)
		}
	}
	checkPod := func(what string, p podSpec, verb string) container {
		if len(p.Containers) != 1 {
			t.Fatalf("%s: %d containers", what, len(p.Containers))
		}
		c := p.Containers[0]
		i := slices.Index(c.Args, "--config")
		if len(c.Args) < 2 || c.Args[0] != "registry" || c.Args[1] != verb || i < 0 || i+1 == len(c.Args) {
			t.Fatalf("%s: args %q", what, c.Args)
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			for _, v := range p.Volumes {
				if v.Name == m.Name && v.Secret.SecretName == secret.Metadata.Name && m.MountPath+"/config.json" == c.Args[i+1] &&
					m.MountPath+"/htpasswd" == cfg.Htpasswd {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Fatalf("%s: the secret is not mounted where --config and htpasswd point", what)
		}
		return c
	}
	c := checkPod("deployment", pod.Spec, "serve")
	if len(c.Ports) != 1 || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Port != c.Ports[0].Name {
		t.Fatalf("ports %v, readiness %v", c.Ports, c.ReadinessProbe)
	}
	if i := slices.Index(c.Args, "--addr"); i < 0 || !strings.HasSuffix(c.Args[i+1], ":"+itoa(c.Ports[0].ContainerPort)) {
		t.Fatalf("--addr does not listen on the container port: %q", c.Args)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].TargetPort != c.Ports[0].Name {
		t.Fatalf("service ports %v", svc.Ports)
	}
	checkPod("gc cronjob", cron.JobTemplate.Spec.Template.Spec, "gc")
	if cron.ConcurrencyPolicy != "Forbid" || len(strings.Fields(cron.Schedule)) != 5 {
		t.Fatalf("cronjob: %q, %q (two collections must not overlap)", cron.Schedule, cron.ConcurrencyPolicy)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
