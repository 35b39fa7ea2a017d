// An independent check of ktlog's C2SP tiles with Go's golang.org/x/mod
// (Debian's golang-golang-x-mod-dev): the checkpoint note verifies with
// x/mod/sumdb/note under the log's verifier key; x/mod/sumdb/tlog reads the
// hash tiles (its TileHashReader checks every tile against the signed tree
// hash), recomputes the root, proves records and the tree's consistency
// with an older size; and the entry bundles' leaves hash to the tiles'
// level-0 hashes.
//
// usage: go run go_tlog_check.go TILES_URL VERIFIER_KEY
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func fetch(path string) ([]byte, int, error) {
	resp, err := http.Get(base + "/" + path)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<24))
	return data, resp.StatusCode, err
}

// tiles reads ktlog's C2SP hash tiles for x/mod's tlog (whose paths add
// the tile height: "tile/8/L/N").
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		path := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		data, status, err := fetch(path)
		if err != nil || status != 200 {
			return nil, fmt.Errorf("%s: status %d, %v", path, status, err)
		}
		out[i] = data
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// bundle decodes an entry bundle: u16 length, bytes, repeated.
func bundle(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out
}

func entryPath(n int64, width int64) string {
	t := tlog.Tile{H: 8, L: 0, N: n, W: int(width)}
	return strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go tlog check FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	raw, status, err := fetch("checkpoint")
	if err != nil || status != 200 {
		fail("checkpoint: %d %v", status, err)
	}
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		fail("the checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 2 {
		fail("checkpoint size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		fail("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{})
	got, err := tlog.TreeHash(size, reader)
	if err != nil || got != root {
		fail("tree hash from the tiles: %v %v", got, err)
	}
	checked := 0
	for i := int64(0); i < size; i += 1 + size/97 {
		w := int64(256)
		if i/256 == size/256 {
			w = size % 256
		}
		data, status, err := fetch(entryPath(i/256, w))
		if err != nil || status != 200 {
			fail("entries of %d: %d %v", i, status, err)
		}
		leaves := bundle(data)
		if int64(len(leaves)) != w {
			fail("bundle of %d holds %d entries, not %d", i, len(leaves), w)
		}
		leaf := tlog.RecordHash(leaves[i%256])
		stored, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil || stored[0] != leaf {
			fail("leaf %d does not hash to its tile hash: %v", i, err)
		}
		proof, err := tlog.ProveRecord(size, i, reader)
		if err != nil {
			fail("prove record %d: %v", i, err)
		}
		if err := tlog.CheckRecord(proof, size, root, i, leaf); err != nil {
			fail("record %d: %v", i, err)
		}
		checked++
	}
	old := size/2 + 1
	oldRoot, err := tlog.TreeHash(old, reader)
	if err != nil {
		fail("tree hash of %d: %v", old, err)
	}
	tp, err := tlog.ProveTree(size, old, reader)
	if err != nil || tlog.CheckTree(tp, size, root, old, oldRoot) != nil {
		fail("consistency %d -> %d: %v", old, size, err)
	}
	fmt.Printf("go tlog check: checkpoint of %d verified by x/mod/sumdb/note; "+
		"tree hash, %d record proofs and a tree proof from the tiles verified "+
		"by x/mod/sumdb/tlog\n", size, checked)
}
