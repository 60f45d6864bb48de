package holders_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sockscope/sockscope/internal/holders"
)

func ExampleScan() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := holders.Scan(ctx, holders.Options{})
	if err != nil {
		fmt.Println("scan:", err)
		if res == nil {
			return
		}
	}
	for _, r := range res.Refs {
		p := res.Procs[r.Proc]
		fmt.Printf("socket:[%d] held by %s (pid %d, user %s) at fd %d\n", r.Inode, p.Comm, p.PID, p.User, r.FD)
	}
	if res.Denied > 0 {
		fmt.Printf("%d processes could not be inspected\n", res.Denied)
	}
}
