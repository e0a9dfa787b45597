package api

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// MaxVersion is the Engine API version of the github.com/moby/moby/api types berth serves.
	MaxVersion = "1.57"
	// MinVersion is the oldest version a client may ask for with a /vN.NN prefix.
	MinVersion = "1.24"
)

var timeZero time.Time

var versionPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`) })

type versionKey struct{}

// splitVersion takes the /vN.NN prefix off path: the version asked for (MaxVersion without a
// prefix, as dockerd) and the rest. A version outside [MinVersion, MaxVersion] is dockerd's 400.
func splitVersion(path string) (version, rest string, err error) {
	m := versionPrefix().FindStringSubmatch(path)
	if m == nil {
		return MaxVersion, path, nil
	}
	v := m[1]
	if compareVersions(v, MaxVersion) > 0 {
		return "", "", fmt.Errorf("client version %s is too new. Maximum supported API version is %s", v, MaxVersion)
	}
	if compareVersions(v, MinVersion) < 0 {
		return "", "", fmt.Errorf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinVersion)
	}
	return v, m[2], nil
}

func withVersion(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// apiVersion is the version the request was made with; handlers use versionBefore for Docker's
// per-version differences.
func apiVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok {
		return v
	}
	return MaxVersion
}

// versionBefore reports whether the request's API version is older than v.
func versionBefore(ctx context.Context, v string) bool {
	return compareVersions(apiVersion(ctx), v) < 0
}

// compareVersions compares dotted versions numerically: -1, 0 or 1.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}
