package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// MarshalModel is a raw model (LoadModel) as Compose's config prints it: its map's keys in
// order, YAML indented by 2, or JSON.
func MarshalModel(model map[string]any, format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(model); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case "json":
		return json.MarshalIndent(model, "", "  ")
	}
	return nil, fmt.Errorf("unsupported format %q", format)
}

// Variables are the variables a raw model (LoadModel without interpolation) uses, by name
// (Compose lists them in its map's random order).
func Variables(model map[string]any) []template.Variable {
	vars := template.ExtractVariables(model, template.DefaultPattern)
	out := make([]template.Variable, 0, len(vars))
	for _, v := range vars {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ServiceHashes are config --hash's lines ("web <config-hash>"), by service name: "*" for
// every service, else a comma-separated list. Each is the com.docker.compose.config-hash up
// gives the service's containers (recorded: Compose's own config --hash differs from its up's
// label for a service with env_file; berth prints the label).
func ServiceHashes(p *types.Project, which string) ([]string, error) {
	names := p.ServiceNames()
	if which != "*" {
		names = strings.Split(which, ",")
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		s, err := p.GetService(n)
		if err != nil {
			return nil, err
		}
		h, err := ServiceHash(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n+" "+h)
	}
	return out, nil
}

// MarshalConfig is `config`'s document ("yaml" or "json") as Docker Compose v2.40.3 prints it:
// without the networks, volumes, secrets and configs no service uses, and with each service's
// keys in alphabetical order (compose-go v2.16 writes them in its struct's order; nested
// values keep theirs, as in Compose's output).
func MarshalConfig(p *types.Project, format string) ([]byte, error) {
	p = p.WithoutUnnecessaryResources()
	// Compose's config loads with the env files discarded once read into environment.
	services := types.Services{}
	for name, svc := range p.Services {
		svc.EnvFiles = nil
		services[name] = svc
	}
	q := *p
	q.Services = services
	p = &q
	switch format {
	case "", "yaml":
		b, err := p.MarshalYAML()
		if err != nil {
			return nil, err
		}
		return sortServiceKeysYAML(b)
	case "json":
		b, err := p.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			return nil, err
		}
		b = compact.Bytes()
		// v2.9 writes a bind's create_host_path when true (v2.16 omits it then) and omits it
		// when false.
		b = bytes.ReplaceAll(b, []byte(`"create_host_path":false`), []byte(`"create_host_path":"false"`))
		b = bytes.ReplaceAll(b, []byte(`"bind":{}`), []byte(`"bind":{"create_host_path":true}`))
		b = bytes.ReplaceAll(b, []byte(`,"create_host_path":"false"`), nil)
		b = bytes.ReplaceAll(b, []byte(`"create_host_path":"false",`), nil)
		b = bytes.ReplaceAll(b, []byte(`"create_host_path":"false"`), nil)
		return sortServiceKeysJSON(b)
	}
	return nil, fmt.Errorf("unsupported format %q", format)
}

func sortServiceKeysYAML(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 1 {
		if services := mappingValue(doc.Content[0], "services"); services != nil && services.Kind == yaml.MappingNode {
			for i := 1; i < len(services.Content); i += 2 {
				sortMapping(services.Content[i])
				if vols := mappingValue(services.Content[i], "volumes"); vols != nil && vols.Kind == yaml.SequenceNode {
					for _, v := range vols.Content {
						if bind := mappingValue(v, "bind"); bind != nil {
							writeBindV29(bind)
						}
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeBindV29 writes a bind's create_host_path as compose-go v2.9 does: present when true (v2.16
// leaves the default true out), absent when false.
func writeBindV29(bind *yaml.Node) {
	if bind.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(bind.Content); i += 2 {
		if bind.Content[i].Value == "create_host_path" {
			if bind.Content[i+1].Value == "false" {
				bind.Content = append(bind.Content[:i], bind.Content[i+2:]...)
			}
			return
		}
	}
	pair := []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "create_host_path"}, {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}}
	at := len(bind.Content) // v2.9's order: selinux, propagation, create_host_path, recursive
	for i := 0; i+1 < len(bind.Content); i += 2 {
		if bind.Content[i].Value == "recursive" {
			at = i
		}
	}
	bind.Content = append(bind.Content[:at], append(pair, bind.Content[at:]...)...)
	bind.Style = 0
}

// mappingValue is the value of key in mapping node m (nil when absent).
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// sortMapping orders a mapping node's pairs by key.
func sortMapping(m *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k.Value < pairs[j].k.Value })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

func sortServiceKeysJSON(b []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	if raw, ok := top["services"]; ok {
		// Go's maps marshal with sorted keys; each value stays as compose-go wrote it.
		var services map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &services); err != nil {
			return nil, err
		}
		sorted, err := json.Marshal(services)
		if err != nil {
			return nil, err
		}
		top["services"] = sorted
	}
	return json.MarshalIndent(top, "", "  ")
}
