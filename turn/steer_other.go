//go:build !linux

package turn

import (
	"errors"
	"net"
)

// steerBySource is Linux only; elsewhere a UDP listener has one socket.
func steerBySource(*net.UDPConn, int, bool) error {
	return errors.New("steering by source address needs Linux")
}
