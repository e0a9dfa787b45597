package cli

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/spf13/cobra"
)

func init() {
	register("network", func(g *Globals) *cobra.Command {
		c := &cobra.Command{Use: "network", Short: "Manage networks", Args: noArgs}
		c.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g),
			newNetworkRmCommand(g), newNetworkPruneCommand(g), newNetworkConnectCommand(g), newNetworkDisconnectCommand(g))
		return c
	})
}

// openNetworks opens the store and the networks of the root, with the config file's pools.
func openNetworks(g *Globals) (*network.Manager, *image.Store, error) {
	cfg, err := readConfig()
	if err != nil {
		return nil, nil, err
	}
	s, err := openStore(g)
	if err != nil {
		return nil, nil, err
	}
	return &network.Manager{DB: s.DB, Root: s.Root, Pools: cfg.DefaultAddressPools}, s, nil
}

// keyValues reads repeated KEY=VALUE flags (--label, --opt) into a map.
func keyValues(list []string) map[string]string {
	m := map[string]string{}
	for _, l := range list {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

func newNetworkCreateCommand(g *Globals) *cobra.Command {
	var o network.CreateOptions
	var labels, opts, subnets, gateways, ranges, auxAddr []string
	var ipv6 bool
	var ipamDriver, scope, configFrom string
	c := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ipamDriver != "default" || scope != "" || configFrom != "" {
				return fmt.Errorf("--ipam-driver, --scope and --config-from are not supported")
			}
			o.Name, o.EnableIPv6 = args[0], ipv6
			cs, err := ipamConfigs(subnets, gateways, ranges, auxAddr)
			if err != nil {
				return err
			}
			if o.IPAM, o.IPAM6, err = network.SplitIPAM(cs); err != nil {
				return err
			}
			o.Labels, o.Options = keyValues(labels), keyValues(opts)
			o.IPAMOptions = map[string]string{} // what Docker's CLI sends
			m, s, err := openNetworks(g)
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := m.Create(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, n.ID)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&o.Driver, "driver", "d", "bridge", "Driver to manage the Network")
	fl.StringArrayVar(&subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	fl.StringArrayVar(&gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	fl.StringArrayVar(&ranges, "ip-range", nil, "Allocate container ip from a sub-range")
	fl.BoolVar(&o.Internal, "internal", false, "Restrict external access to the network")
	fl.BoolVar(&o.Attachable, "attachable", false, "Enable manual container attachment")
	fl.StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	fl.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	fl.BoolVar(&ipv6, "ipv6", false, "Enable IPv6 networking")
	fl.StringVar(&ipamDriver, "ipam-driver", "default", "IP Address Management Driver")
	fl.StringArrayVar(&auxAddr, "aux-address", nil, "Auxiliary IPv4 or IPv6 addresses used by Network driver")
	fl.StringVar(&scope, "scope", "", "Control the network's scope")
	fl.StringVar(&configFrom, "config-from", "", "The network from which to copy the configuration")
	return c
}

// ipamConfigs matches --gateway, --ip-range and --aux-address to the --subnet holding them, as
// Docker's CLI does (one subnet and no match: the flags go with it).
func ipamConfigs(subnets, gateways, ranges, aux []string) ([]network.IPAMConfig, error) {
	cs := make([]network.IPAMConfig, len(subnets))
	nets := make([]*net.IPNet, len(subnets))
	for i, s := range subnets {
		cs[i].Subnet = s
		_, nets[i], _ = net.ParseCIDR(s)
	}
	owner := func(addr, flag string) (int, error) {
		ip := net.ParseIP(addr)
		if ip == nil {
			if _, rn, err := net.ParseCIDR(addr); err == nil {
				ip = rn.IP
			}
		}
		for i, n := range nets {
			if n != nil && ip != nil && n.Contains(ip) {
				return i, nil
			}
		}
		if len(cs) == 1 {
			return 0, nil
		}
		if len(cs) == 0 {
			return 0, errors.New("every ip-range or gateway must have a corresponding subnet")
		}
		return 0, fmt.Errorf("no matching subnet for %s %s", flag, addr)
	}
	for _, g := range gateways {
		i, err := owner(g, "gateway")
		if err != nil {
			return nil, err
		}
		if cs[i].Gateway != "" {
			return nil, fmt.Errorf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", g, cs[i].Gateway, cs[i].Subnet)
		}
		cs[i].Gateway = g
	}
	for _, r := range ranges {
		i, err := owner(r, "range")
		if err != nil {
			return nil, err
		}
		if cs[i].IPRange != "" {
			return nil, fmt.Errorf("cannot configure multiple ranges (%s, %s) on the same subnet (%s)", r, cs[i].IPRange, cs[i].Subnet)
		}
		cs[i].IPRange = r
	}
	for _, a := range aux {
		name, ip, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("invalid argument %q for \"--aux-address\" flag: bad format for key-value pair", a)
		}
		i, err := owner(ip, "aux-address")
		if err != nil {
			return nil, err
		}
		if cs[i].AuxiliaryAddresses == nil {
			cs[i].AuxiliaryAddresses = map[string]string{}
		}
		cs[i].AuxiliaryAddresses[name] = ip
	}
	return cs, nil
}

// networkRow is one row of `network ls` (Docker's networkContext).
type networkRow struct {
	trunc bool
	n     network.Network
}

func (r *networkRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *networkRow) ID() string {
	if r.trunc && len(r.n.ID) > 12 {
		return r.n.ID[:12]
	}
	return r.n.ID
}
func (r *networkRow) Name() string      { return r.n.Name }
func (r *networkRow) Driver() string    { return r.n.Driver }
func (r *networkRow) Scope() string     { return "local" }
func (r *networkRow) IPv6() string      { return strconv.FormatBool(r.n.EnableIPv6) }
func (r *networkRow) Internal() string  { return strconv.FormatBool(r.n.Internal) }
func (r *networkRow) CreatedAt() string { return r.n.Created.Truncate(0).In(time.UTC).String() }
func (r *networkRow) Labels() string {
	var kv []string
	for k, v := range r.n.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
func (r *networkRow) Label(name string) string { return r.n.Labels[name] }

var networkHeader = format.Header{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
	"Internal": "INTERNAL", "Labels": "LABELS", "Label": "LABEL", "CreatedAt": format.CreatedAtHeader,
}

func newNetworkLsCommand(g *Globals) *cobra.Command {
	var quiet, noTrunc bool
	var formatStr string
	var filters format.Args
	c := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, s, err := openNetworks(g)
			if err != nil {
				return err
			}
			defer s.Close()
			nets, err := m.ListFiltered(filters)
			if err != nil {
				return err
			}
			// Docker's CLI sorts by name, naturally.
			sort.SliceStable(nets, func(i, j int) bool { return container.NaturalLess(nets[i].Name, nets[j].Name) })
			rows := make([]*networkRow, len(nets))
			for i, n := range nets {
				rows[i] = &networkRow{trunc: !noTrunc, n: n}
			}
			f := formatStr
			if quiet {
				f = "{{.ID}}"
			}
			return format.Write(g.Stdout, f, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", networkHeader, rows)
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	c.Flags().StringVar(&formatStr, "format", "", "Pretty-print networks using a Go template")
	c.Flags().VarP(&filters, "filter", "f", "Provide filter values (e.g. 'driver=bridge')")
	return c
}

func newNetworkInspectCommand(g *Globals) *cobra.Command {
	var formatStr string
	var verbose bool
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, s, err := openNetworks(g)
			if err != nil {
				return err
			}
			defer s.Close()
			return inspectAll(g, formatStr, args, func(ref string) (any, error) { return m.Inspect(ref) })
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "Verbose output for diagnostics")
	return c
}

func newNetworkRmCommand(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			// Docker prints nothing for a network removed, only the failures.
			return eachArg(args, m.RemoveNetwork)
		},
	}
	return c
}

func newNetworkPruneCommand(g *Globals) *cobra.Command {
	var force bool
	var filters format.Args
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force && !confirm(g, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			names, err := m.PruneNetworksFiltered(filters)
			printPruned(g.Stdout, "Deleted Networks:", names)
			return err
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'until=<timestamp>')")
	return c
}

func newNetworkConnectCommand(g *Globals) *cobra.Command {
	var aliases, links, linkLocal []string
	var ip, ip6 string
	var driverOpts []string
	c := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			var opts map[string]string
			if len(driverOpts) > 0 {
				opts = keyValues(driverOpts)
			}
			return m.Connect(args[0], args[1], container.EndpointOptions{Aliases: aliases, IPv4Address: ip, IPv6Address: ip6,
				Links: links, LinkLocalIPs: linkLocal, DriverOpts: opts})
		},
	}
	c.Flags().StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	c.Flags().StringVar(&ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	c.Flags().StringVar(&ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	c.Flags().StringArrayVar(&links, "link", nil, "Add link to another container")
	c.Flags().StringArrayVar(&linkLocal, "link-local-ip", nil, "Add a link-local address for the container")
	c.Flags().StringArrayVar(&driverOpts, "driver-opt", nil, "driver options for the network")
	return c
}

func newNetworkDisconnectCommand(g *Globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return m.Disconnect(args[0], args[1], force)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return c
}
