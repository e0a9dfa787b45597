package container

import (
	"testing"

	"github.com/berth-engine/berth/network"
)

// TestRootlessMappings: in the shared rootless namespace a published port arrives on tap0,
// whatever host address it was published on, so its DNAT must not match that address.
func TestRootlessMappings(t *testing.T) {
	in := []network.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 53, ContainerPort: 53, Protocol: "udp"}}
	out := rootlessMappings(in)
	if len(out) != 2 || out[0] != (network.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}) || out[1] != in[1] {
		t.Errorf("rootlessMappings = %+v", out)
	}
	if in[0].HostIP != "127.0.0.1" {
		t.Error("rootlessMappings changed its input")
	}
}
