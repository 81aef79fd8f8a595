package store

import (
	"testing"
	"time"
)

// wait_replicas and wait_timeout are ours: they leave the URL before go-redis parses it (it
// refuses parameters it does not know), whatever form REDIS_URL takes.
func TestSplitWaitParams(t *testing.T) {
	for _, tc := range []struct {
		raw, rest string
		replicas  int
		timeout   time.Duration
		wantErr   bool
	}{
		{raw: "redis://h:6379/0", rest: "redis://h:6379/0"},
		{raw: "h1:6379,h2:6379", rest: "h1:6379,h2:6379"},
		{raw: "redis://h:6379/0?wait_replicas=1", rest: "redis://h:6379/0", replicas: 1},
		{raw: "redis://h:26379?master_name=kai&wait_replicas=2&wait_timeout=500ms", rest: "redis://h:26379?master_name=kai", replicas: 2, timeout: 500 * time.Millisecond},
		{raw: "redis://h1:6379?addr=h2:6379&wait_replicas=1", rest: "redis://h1:6379?addr=h2%3A6379", replicas: 1},
		{raw: "redis://:pw@h1:26379?wait_replicas=1,h2:26379", rest: "redis://:pw@h1:26379,h2:26379", replicas: 1},
		{raw: "redis://h:6379?wait_replicas=x", wantErr: true},
		{raw: "redis://h:6379?wait_replicas=-1", wantErr: true},
		{raw: "redis://h:6379?wait_timeout=0s", wantErr: true},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			rest, n, d, err := splitWaitParams(tc.raw)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error, got %q %d %s", rest, n, d)
				}
				return
			}
			if err != nil || rest != tc.rest || n != tc.replicas || d != tc.timeout {
				t.Fatalf("got %q %d %s %v, want %q %d %s", rest, n, d, err, tc.rest, tc.replicas, tc.timeout)
			}
		})
	}
}

// A wait longer than the read timeout would read as a dead server: refused at start.
func TestNewRedisWaitTimeoutBelowReadTimeout(t *testing.T) {
	if _, err := NewRedis(RedisOptions{URL: "redis://127.0.0.1:1?wait_replicas=1&wait_timeout=5s"}); err == nil {
		t.Fatal("NewRedis accepted a wait timeout above the read timeout")
	}
	r, err := NewRedis(RedisOptions{URL: "redis://127.0.0.1:1?wait_replicas=1"})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer r.Close()
	if r.waitReplicas != 1 || r.waitTimeout != DefaultWaitTimeout {
		t.Fatalf("wait %d %s, want 1 %s", r.waitReplicas, r.waitTimeout, DefaultWaitTimeout)
	}
}
