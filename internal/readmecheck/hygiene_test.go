package readmecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// machinePaths are the prefixes of paths that exist only on the machine a test was written on.
var machinePaths = []string{"/tmp/", "/work/", "/home/", "/root/"}

// TestNoTestReadsAFileOfOneMachine: a test that reads a file by an absolute path of one
// machine passes there and fails on every fresh checkout. A debugging test that read
// /tmp/cuts/ko_h.csv landed once and passed CI on the machine that had the file; on a fresh
// machine the forecast package failed. Tests generate their data or read it from testdata.
func TestNoTestReadsAFileOfOneMachine(t *testing.T) {
	fset := token.NewFileSet()
	var found []string
	err := walkGoFiles(true, true, func(path string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, p := range machinePaths {
				if strings.HasPrefix(s, p) && s != p {
					found = append(found, fset.Position(lit.Pos()).String()+": "+s)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, found, "tests naming a path of one machine")
}
