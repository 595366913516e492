// The sandbox ("pause") process of every pod: it holds the pod's namespaces and waits until
// it is told to stop. Built here because no image registry is reachable.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	// As PID 1 of the pod, reap the children that get re-parented to it.
	go func() {
		child := make(chan os.Signal, 1)
		signal.Notify(child, syscall.SIGCHLD)
		for range child {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-sigs
}
