package cli

import (
	"fmt"
	"net"
	"strings"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/network"
	"github.com/spf13/pflag"
)

// netFlags are run/create's network flags.
type netFlags struct {
	networks, aliases, dns, dnsSearch, dnsOptions []string
	links, linkLocal                              []string
	ip, ip6                                       string
}

func (f *netFlags) bind(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.networks, "network", nil, "Connect a container to a network")
	fl.StringArrayVar(&f.networks, "net", nil, "Connect a container to a network")
	fl.MarkHidden("net")
	fl.StringArrayVar(&f.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	fl.StringArrayVar(&f.aliases, "net-alias", nil, "Add network-scoped alias for the container")
	fl.MarkHidden("net-alias")
	fl.StringVar(&f.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fl.StringVar(&f.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	fl.StringArrayVar(&f.links, "link", nil, "Add link to another container")
	fl.StringArrayVar(&f.linkLocal, "link-local-ip", nil, "Container IPv4/IPv6 link-local addresses")
	fl.StringArrayVar(&f.dns, "dns", nil, "Set custom DNS servers")
	fl.StringArrayVar(&f.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	fl.StringArrayVar(&f.dnsOptions, "dns-option", nil, "Set DNS options")
	fl.StringArrayVar(&f.dnsOptions, "dns-opt", nil, "Set DNS options")
	fl.MarkHidden("dns-opt")
}

// mode is the first network ("default" when none was named), Docker's NetworkMode.
func (f *netFlags) mode() string {
	if len(f.networks) == 0 {
		return "default"
	}
	return f.networks[0]
}

// apply puts the flags into create's options; the engine checks them against the networks.
func (f *netFlags) apply(o *container.CreateOptions, addHosts []string) error {
	for _, h := range addHosts {
		if err := container.ValidateExtraHost(h); err != nil {
			return fmt.Errorf("invalid argument %q for \"--add-host\" flag: %v", h, err)
		}
	}
	for _, s := range f.dns {
		if net.ParseIP(s) == nil {
			return fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", s, s)
		}
	}
	o.Host.NetworkMode = f.mode()
	for _, l := range f.links {
		if _, _, err := network.ParseLink(l); err != nil {
			return fmt.Errorf("invalid argument %q for \"--link\" flag: %v", l, err)
		}
	}
	o.Networks, o.Aliases, o.IP = f.networks, f.aliases, f.ip
	o.IP6, o.Links, o.LinkLocalIPs = f.ip6, f.links, f.linkLocal
	if network.IsPredefined(o.Host.NetworkMode) || o.Host.NetworkMode == "none" || strings.HasPrefix(o.Host.NetworkMode, "container:") {
		// Docker's CLI sends --ip6 and --link-local-ip only for a user-defined network.
		o.IP6, o.LinkLocalIPs = "", nil
	}
	o.Host.DNS, o.Host.DNSSearch, o.Host.DNSOptions = f.dns, f.dnsSearch, f.dnsOptions
	return nil
}
