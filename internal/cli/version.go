package cli

import (
	"github.com/spf13/cobra"

	"github.com/sockscope/sockscope/internal/buildinfo"
	"github.com/sockscope/sockscope/render"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sockscope's version, commit, build date and Go version",
		Long: `Print which sockscope this is: the release version, the git commit and build
date (set by a release build, else read from the Go build information), the Go
version that built it, the platform, and whether the source tree had
uncommitted changes. 'sockscope --version' prints the same on one line.`,
		Example: `  sockscope version
  sockscope version -o json | jq -r .release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := buildinfo.Get()
			if g.output == "table" {
				return render.WriteVersion(g.io.Out, info)
			}
			return render.WriteVersionJSON(g.io.Out, info)
		},
	}
}
