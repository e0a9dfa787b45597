package network

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Docker's links, as values. A legacy link (`--link NAME:ALIAS` on the default bridge) gives
// the linking container environment variables naming the target's address and exposed ports and
// an /etc/hosts line for it; an endpoint link on a user-defined network (EndpointSettings.Links)
// makes ALIAS resolve to the target through the linking container's DNS resolver only.

// ParseLink reads a link as Docker's CLI and daemon take it: "NAME[:ALIAS]", the alias being the
// name when not given, a leading "/" of the name dropped.
func ParseLink(s string) (name, alias string, err error) {
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		name, alias = parts[0], parts[0]
	case 2:
		name, alias = parts[0], parts[1]
		if alias == "" {
			alias = name
		}
	default:
		return "", "", fmt.Errorf("bad format for links: %s", s)
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return "", "", fmt.Errorf("bad format for links: %s", s)
	}
	return name, strings.TrimPrefix(alias, "/"), nil
}

// Link is one legacy link as the linking container sees its target when it starts.
type Link struct {
	Alias    string   // the linking container's name for the target
	Parent   string   // the linking container's name
	Name     string   // the target's name
	Hostname string   // the target's hostname (its short ID unless set)
	IP       string   // the target's address on the default bridge
	Exposed  []string // the target's exposed ports ("80/tcp")
	Env      []string // the target's environment
}

type linkPort struct {
	port  int
	proto string
}

// sortedPorts are the target's exposed ports in Docker's link order: by number, tcp before
// another protocol of the same number.
func (l Link) sortedPorts() []linkPort {
	var ps []linkPort
	for _, e := range l.Exposed {
		n, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		p, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		ps = append(ps, linkPort{p, strings.ToLower(proto)})
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].port != ps[j].port {
			return ps[i].port < ps[j].port
		}
		return ps[i].proto == "tcp" && ps[j].proto != "tcp"
	})
	return ps
}

// EnvVars are the variables Docker 20.10 gives a linking container for one link, in its order
// (before the duplicates are folded: see ProcessEnv's merge):
// ALIAS_PORT (the first port), ALIAS_PORT_N_PROTO_START/_ADDR/_PROTO/_PORT_START/_END/_PORT_END
// for each run of three or more consecutive ports, ALIAS_PORT_N_PROTO/_ADDR/_PORT/_PROTO for
// each port, ALIAS_NAME=/parent/alias and ALIAS_ENV_X for each of the target's variables
// (HOME and PATH left out).
func (l Link) EnvVars() []string {
	alias := strings.ReplaceAll(strings.ToUpper(l.Alias), "-", "_")
	ports := l.sortedPorts()
	var env []string
	url := func(p linkPort) string { return fmt.Sprintf("%s://%s:%d", p.proto, l.IP, p.port) }
	key := func(p linkPort) string { return fmt.Sprintf("%s_PORT_%d_%s", alias, p.port, strings.ToUpper(p.proto)) }
	if len(ports) > 0 {
		env = append(env, alias+"_PORT="+url(ports[0]))
	}
	for i := 0; i < len(ports); {
		p := ports[i]
		j := nextContiguous(ports, i)
		if j > i+1 {
			q := ports[j]
			env = append(env, key(p)+"_START="+url(p), key(p)+"_ADDR="+l.IP, key(p)+"_PROTO="+p.proto,
				fmt.Sprintf("%s_PORT_START=%d", key(p), p.port), key(p)+"_END="+url(q), fmt.Sprintf("%s_PORT_END=%d", key(p), q.port))
			i = j + 1
			continue
		}
		i++
	}
	for _, p := range ports {
		env = append(env, key(p)+"="+url(p), key(p)+"_ADDR="+l.IP, fmt.Sprintf("%s_PORT=%d", key(p), p.port), key(p)+"_PROTO="+p.proto)
	}
	env = append(env, fmt.Sprintf("%s_NAME=/%s/%s", alias, l.Parent, l.Alias))
	for _, kv := range l.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "HOME" || k == "PATH" {
			continue
		}
		env = append(env, fmt.Sprintf("%s_ENV_%s=%s", alias, k, v))
	}
	return env
}

// nextContiguous is the index of the last port of the run starting at i whose numbers follow
// each other (Docker counts ports, whatever their protocol).
func nextContiguous(ports []linkPort, i int) int {
	value := ports[i].port
	for k := i + 1; k < len(ports); k++ {
		if ports[k].port > value+1 {
			return k - 1
		}
		value++
	}
	return len(ports) - 1
}

// HostsNames are the names the linking container's /etc/hosts gives the target's address:
// the alias, the target's hostname, and its name when the alias is another.
func (l Link) HostsNames() string {
	s := l.Alias + " " + l.Hostname
	if l.Alias != l.Name {
		s += " " + l.Name
	}
	return s
}

// LinkMembers are the resolver entries a container's endpoint links add on one network: each
// "NAME:ALIAS" makes ALIAS resolve to what NAME resolves to among that network's members.
func LinkMembers(members []Member, network string, links []string) []Member {
	var out []Member
	for _, l := range links {
		name, alias, err := ParseLink(l)
		if err != nil {
			continue
		}
		for _, m := range members {
			if m.Network != network {
				continue
			}
			for _, n := range m.Names {
				if strings.EqualFold(n, name) {
					out = append(out, Member{Network: network, Names: []string{alias}, IP: m.IP, IP6: m.IP6})
					break
				}
			}
		}
	}
	return out
}
