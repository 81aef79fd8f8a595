package app

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"0.0.0.0:8080", false}, {"[::]:8080", false}, {"10.1.2.3:80", false},
	} {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		require.NoError(t, err)
		require.Equal(t, tt.want, isLoopback(a), tt.addr)
	}
}

func TestLoopbackAddr(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true}, {"127.0.0.2:0", true},
		{":8080", false}, {"0.0.0.0:8080", false}, {"[::]:8080", false}, {"10.1.2.3:80", false}, {"kai.example:80", false}, {"nonsense", false},
	} {
		require.Equal(t, tt.want, loopbackAddr(tt.addr), tt.addr)
	}
}
