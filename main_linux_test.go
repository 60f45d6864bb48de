package sockscope_test

import (
	"os"
	"testing"

	"github.com/sockscope/sockscope/internal/nstest"
)

// TestMain runs the tests, as root, in namespaces of their own
// (nstest.IsolateMain): the machine's other processes, namespaces and
// sockets are not part of any test.
func TestMain(m *testing.M) {
	os.Exit(nstest.IsolateMain(m))
}
