package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthCommand is a pod's exec probe where an HTTP probe cannot reach
// the shard (host network: shards on one node cannot share a fixed port).
func newHealthCommand() *cobra.Command {
	var urlFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health --url-file FILE /readyz|/livez",
		Short: "Ask a running `hollowmark nodes` whether it is ready or live; exit 0 if so (a pod's exec probe)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if urlFile == "" {
				return errors.New("--url-file is required")
			}
			data, err := os.ReadFile(urlFile)
			if err != nil {
				return fmt.Errorf("the shard has not written its URL yet: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(string(data))+args[0], nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			fmt.Fprint(cmd.OutOrStdout(), string(body))
			if resp.StatusCode != http.StatusOK {
				return &exitError{code: 1, msg: fmt.Sprintf("%s: %s", args[0], resp.Status)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&urlFile, "url-file", "", "file `hollowmark nodes --metrics-url-file` wrote")
	cmd.Flags().DurationVar(&timeout, "timeout", 4*time.Second, "how long to wait for the answer")
	return cmd
}
