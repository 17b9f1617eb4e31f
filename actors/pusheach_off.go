//go:build !pusheach

package actors

import "github.com/liveroom/liveroom/ring"

// baselineConfig is empty: the push-each baseline is built only with `-tags pusheach`.
type baselineConfig struct{}

// baseline does nothing outside the push-each baseline build.
func (a *replicaActor) baseline([]*ring.Message) {}
