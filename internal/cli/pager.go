package cli

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"unicode/utf8"
)

// pagedCommands print tables worth paging. watch (a live stream), serve,
// kill (it asks before closing), lab (its reports come one by one) and
// the rest are never paged.
var pagedCommands = map[string]bool{
	"sockscope": true, "ls": true, "port": true, "proc": true,
	"summary": true, "demux": true, "bind-check": true,
}

// lookupEnv reads the environment: IOStreams.LookupEnv, else Getenv (an
// empty value counting as unset), else the process's own.
func (g *globals) lookupEnv(name string) (string, bool) {
	switch {
	case g.io.LookupEnv != nil:
		return g.io.LookupEnv(name)
	case g.io.Getenv != nil:
		v := g.io.Getenv(name)
		return v, v != ""
	}
	return os.LookupEnv(name)
}

// pagerCommand is the pager to run, as a shell command, or "" for none:
// $SOCKSCOPE_PAGER, else $PAGER, else less -FRX if it is installed. An
// empty variable or "cat" means no pager, as in git.
func (g *globals) pagerCommand() string {
	cmd, ok := g.lookupEnv("SOCKSCOPE_PAGER")
	if !ok {
		cmd, ok = g.lookupEnv("PAGER")
	}
	if !ok {
		if _, err := exec.LookPath("less"); err != nil {
			return ""
		}
		cmd = "less -FRX"
	}
	if cmd = strings.TrimSpace(cmd); cmd == "cat" {
		return ""
	}
	return cmd
}

// startPager puts a pager in front of the command's output when it may
// need one: a table, on a terminal whose height is known, for a command
// that lists things. Nothing is started yet: the pager runs only once
// the output is longer than the screen. Elsewhere (a pipe, a file, JSON)
// the output is left as it is, at no cost.
func (g *globals) startPager(name string) {
	if g.noPager || g.output != "table" || g.jq != "" || !pagedCommands[name] {
		return
	}
	h := g.termHeight()
	if h <= 0 {
		return
	}
	cmd := g.pagerCommand()
	if cmd == "" {
		return
	}
	w, _, _ := g.io.TermSize()
	p := &pager{g: g, command: cmd, out: g.io.Out, height: h, width: w}
	g.io.Out = p
	g.endOutput = p.close
}

// pager holds a table's first screen back: once the table is longer than
// the screen it starts the pager and pipes everything through it;
// otherwise the table goes to the terminal when the command ends.
type pager struct {
	g             *globals
	command       string
	out           io.Writer // the terminal (through the command's writers)
	height, width int
	buf           []byte
	rows          int // rows the held lines take on the screen
	col           int // columns of the held partial line
	esc           bool

	direct bool // the pager could not start: write to out
	cmd    *exec.Cmd
	in     io.WriteCloser
}

func (p *pager) Write(b []byte) (int, error) {
	switch {
	case p.in != nil:
		return ctxWriter{ctx: p.g.ctx, w: p.in}.Write(b)
	case p.direct:
		return p.out.Write(b)
	}
	p.buf = append(p.buf, b...)
	p.count(b)
	// The shell's prompt takes a row after the output: a table of
	// height rows does not fit.
	if p.rows < p.height {
		return len(b), nil
	}
	if err := p.start(); err != nil {
		p.direct = true
		p.g.note("pager " + p.command + ": " + err.Error())
		_, err := p.out.Write(p.buf)
		p.buf = nil
		return len(b), err
	}
	_, err := ctxWriter{ctx: p.g.ctx, w: p.in}.Write(p.buf)
	p.buf = nil
	return len(b), err
}

// count adds the screen rows b takes: a line wider than the terminal
// wraps. Colour (CSI) sequences take no room.
func (p *pager) count(b []byte) {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case p.esc:
			if r >= 0x40 && r <= 0x7e && r != '[' {
				p.esc = false
			}
		case r == 0x1b:
			p.esc = true
		case r == '\n':
			p.rows++
			p.col = 0
		default:
			p.col++
			if p.width > 0 && p.col > p.width {
				p.rows++
				p.col = 1
			}
		}
	}
}

// start runs the pager with its input a pipe and its output the
// terminal.
func (p *pager) start() error {
	// A plain command runs directly, so that one that is not there
	// is known before any output is lost to it; one that needs the
	// shell (quotes, pipes, variables) runs through sh, as in git.
	f := strings.Fields(p.command)
	name, args := f[0], f[1:]
	if strings.ContainsAny(p.command, "|&;<>()$`\\\"'*?[#~=%{}") {
		name, args = "sh", []string{"-c", p.command}
	}
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = p.g.rawOut, p.g.rawErr
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	c.Env = os.Environ()
	// As git: less keeps colour (-R), quits when all fits (-F) and
	// leaves the screen as it is (-X), unless told otherwise.
	if _, ok := os.LookupEnv("LESS"); !ok {
		c.Env = append(c.Env, "LESS=FRX")
	}
	if _, ok := os.LookupEnv("LV"); !ok {
		c.Env = append(c.Env, "LV=-c")
	}
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		return err
	}
	p.cmd, p.in = c, in
	return nil
}

// close ends the output: the held lines go to the terminal, or the
// pager's input is closed and sockscope waits for the user to quit it.
// The pager's exit status, and the broken pipe of a pager quit early, are
// not errors.
func (p *pager) close(cmdErr error) error {
	if p.in == nil {
		if len(p.buf) > 0 {
			if _, err := p.out.Write(p.buf); err != nil && cmdErr == nil {
				cmdErr = err
			}
		}
		return cmdErr
	}
	p.in.Close()
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && cmdErr == nil {
		return err
	}
	return cmdErr
}
