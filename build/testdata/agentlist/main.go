//go:build ignore

// agentlist asks the SSH agent at $SSH_AUTH_SOCK for its keys and prints their comments, one a
// line: a static program the ssh mount tests run inside a busybox build step.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// SSH_AGENTC_REQUEST_IDENTITIES (11), answered by SSH_AGENT_IDENTITIES_ANSWER (12).
	c.Write([]byte{0, 0, 0, 1, 11})
	var n uint32
	binary.Read(c, binary.BigEndian, &n)
	msg := make([]byte, n)
	if _, err := io.ReadFull(c, msg); err != nil || len(msg) < 5 || msg[0] != 12 {
		fmt.Fprintln(os.Stderr, "bad answer", err)
		os.Exit(3)
	}
	count, rest := binary.BigEndian.Uint32(msg[1:5]), msg[5:]
	str := func() []byte {
		l := binary.BigEndian.Uint32(rest)
		s := rest[4 : 4+l]
		rest = rest[4+l:]
		return s
	}
	for i := uint32(0); i < count; i++ {
		str() // the key blob
		fmt.Printf("key: %s\n", str())
	}
}
