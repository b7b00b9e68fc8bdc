package xdsbootstrap_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

const validBootstrap = `{"xds_servers":[{"server_uri":"127.0.0.1:15010","channel_creds":[{"type":"insecure"}]}],"node":{"id":"n"}}`

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "valid", in: validBootstrap},
		{name: "empty", in: "  ", wantErr: "empty bootstrap"},
		{name: "malformed", in: `{"xds_servers": [`, wantErr: "malformed bootstrap json"},
		{name: "not an object", in: `[1]`, wantErr: "malformed bootstrap json"},
		{name: "no xds_servers", in: `{"node":{"id":"n"}}`, wantErr: "no xds_servers"},
		{name: "empty xds_servers", in: `{"xds_servers":[]}`, wantErr: "no xds_servers"},
		{name: "xds_servers not a list", in: `{"xds_servers":{}}`, wantErr: "bootstrap"},
		{name: "no server_uri", in: `{"xds_servers":[{"channel_creds":[{"type":"insecure"}]}]}`, wantErr: "missing server_uri"},
		{name: "no channel_creds", in: `{"xds_servers":[{"server_uri":"a:1"}]}`, wantErr: "missing channel_creds"},
		{name: "creds without type", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{}]}]}`, wantErr: "missing type"},
		{name: "bad node", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"node":{"id":7}}`, wantErr: "node"},
		{name: "provider without plugin", in: `{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"insecure"}]}],"certificate_providers":{"default":{}}}`, wantErr: "missing plugin_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := xdsbootstrap.Validate([]byte(tc.in))
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
	assert.ErrorIs(t, xdsbootstrap.Validate([]byte(`{}`)), xdsbootstrap.ErrNoServers)
}

func TestWaitFileAppears(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	_, err := xdsbootstrap.ReadFile(path)
	require.ErrorIs(t, err, fs.ErrNotExist, "ReadFile() before the file exists")

	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := xdsbootstrap.WaitFile(ctx, path)
		done <- result{b, err}
	}()
	// A partly written file is not taken; the complete one is.
	require.NoError(t, os.WriteFile(path, []byte(`{"xds_servers": [`), 0o600))
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(validBootstrap), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	got := <-done
	require.NoError(t, got.err)
	assert.JSONEq(t, validBootstrap, string(got.b))
}

func TestWaitFileNeverAppears(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	_, err := xdsbootstrap.WaitFile(ctx, path)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, path)
}

func TestWaitFileInvalid(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"node":{}}`), 0o600))
	_, err := xdsbootstrap.WaitFile(ctx, path)
	assert.ErrorIs(t, err, xdsbootstrap.ErrNoServers)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "WaitFile() = %v, want a deadline error", err)
}

func TestCheckCreds(t *testing.T) {
	supported := func(name string) bool { return name == "insecure" }
	assert.NoError(t, xdsbootstrap.CheckCreds([]byte(validBootstrap), supported))
	err := xdsbootstrap.CheckCreds([]byte(`{"xds_servers":[{"server_uri":"a:1","channel_creds":[{"type":"x"},{"type":"y"}]}]}`), supported)
	assert.ErrorContains(t, err, "xds_servers[0]: no supported channel_creds type in [x y]")
}
