// Command pause is the real-kubelet reference's pause image: it blocks until
// SIGTERM or SIGINT, as registry.k8s.io/pause does. Build it static
// (CGO_ENABLED=0): the image holds nothing else.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
