package runner

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Labels on the namespaces a run creates: everything hollowmark makes
// lives in them, so deleting them cleans up.
const (
	OwnerLabel    = "hollowmark.io/owner"
	OwnerValue    = "hollowmark"
	RunLabel      = "hollowmark.io/run"
	ScenarioLabel = "hollowmark.io/scenario"
)

// staleCleanupTimeout bounds the wait for namespaces of earlier runs.
const staleCleanupTimeout = 5 * time.Minute

// forceAfter is how long namespace deletion may wait on pods before we
// delete them without grace: pods of hollow nodes that died with a killed
// run would otherwise hold their namespace forever.
const forceAfter = 30 * time.Second

func (r *runner) createNamespaces(ctx context.Context) error {
	for _, name := range r.namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			OwnerLabel: OwnerValue, RunLabel: r.cfg.RunID, ScenarioLabel: r.cfg.Scenario.Name}}}
		if _, err := r.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
		// Only what we created is ours to delete: a namespace of the same
		// name that someone else made stays.
		r.created = append(r.created, name)
	}
	r.log.Info("namespaces created", zap.Int("count", len(r.namespaces)))
	return nil
}

// removeStaleNamespaces deletes namespaces left by earlier runs that were
// killed before they could clean up, and waits until they are gone.
func (r *runner) removeStaleNamespaces(ctx context.Context) error {
	selector := labels.Set{OwnerLabel: OwnerValue}.AsSelector().String()
	list, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("listing namespaces of earlier runs: %w", err)
	}
	var stale []string
	for _, ns := range list.Items {
		if ns.Labels[RunLabel] != r.cfg.RunID {
			stale = append(stale, ns.Name)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	r.log.Info("deleting namespaces left by an earlier run", zap.Strings("namespaces", stale))
	return r.removeNamespaces(ctx, stale, staleCleanupTimeout)
}

// deleteNamespaces removes the namespaces this run created.
func (r *runner) deleteNamespaces(ctx context.Context) error {
	if len(r.created) == 0 {
		return nil
	}
	r.log.Info("deleting the run's namespaces", zap.Int("count", len(r.created)))
	return r.removeNamespaces(ctx, r.created, r.cfg.CleanupTimeout)
}

// removeNamespaces deletes namespaces and waits until they are gone,
// deleting their pods without grace once forceAfter has passed.
func (r *runner) removeNamespaces(ctx context.Context, names []string, timeout time.Duration) error {
	api := r.client.CoreV1()
	for _, name := range names {
		if err := api.Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", name, err)
		}
	}
	if timeout == 0 {
		return nil
	}
	begin := time.Now()
	forced := false
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, name := range names {
			if _, err := api.Namespaces().Get(ctx, name, metav1.GetOptions{}); err == nil {
				left = append(left, name)
			} else if !apierrors.IsNotFound(err) {
				return false, nil // transient; poll again
			}
		}
		if len(left) > 0 && !forced && time.Since(begin) > forceAfter {
			forced = true
			r.forceDeletePods(ctx, left)
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("namespaces %v still exist after %s: %w", left, timeout, err)
	}
	return nil
}

func (r *runner) forceDeletePods(ctx context.Context, namespaces []string) {
	zero := int64(0)
	for _, ns := range namespaces {
		r.log.Info("deleting the remaining pods of a terminating namespace without grace", zap.String("namespace", ns))
		err := r.client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
		if err != nil {
			r.log.Warn("force-deleting pods", zap.String("namespace", ns), zap.Error(err))
		}
	}
}
