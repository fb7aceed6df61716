package command

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// shellConfig is one shell's startup file and the lines that enable
// completion in it.
type shellConfig struct {
	rcFile string
	lines  func(bin string) []string
}

// shellConfigs returns the shells completion is installed for, relative to
// home: bash and zsh, as posener/complete installs them.
func shellConfigs(home string) []shellConfig {
	return []shellConfig{
		{filepath.Join(home, ".bashrc"), func(bin string) []string {
			return []string{"complete -C " + bin + " roam"}
		}},
		{filepath.Join(home, ".zshrc"), func(bin string) []string {
			return []string{"autoload -U +X bashcompinit && bashcompinit", "complete -o nospace -C " + bin + " roam"}
		}},
	}
}

// autocompleteInstall adds completion to the startup files of the shells
// the user has.
func (c *cli) autocompleteInstall() int {
	return c.editShellConfigs(installCompletion)
}

// autocompleteUninstall removes completion from the shells' startup files.
func (c *cli) autocompleteUninstall() int {
	return c.editShellConfigs(uninstallCompletion)
}

// editShellConfigs applies edit to each existing shell startup file; it
// fails when no file was changed.
func (c *cli) editShellConfigs(edit func(rc string, lines []string) error) int {
	home, err := os.UserHomeDir()
	if err != nil {
		c.errorf("Error executing CLI: %s", err)
		return 1
	}
	bin, err := os.Executable()
	if err == nil {
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		c.errorf("Error executing CLI: find the roam binary: %s", err)
		return 1
	}
	var errs []error
	changed := 0
	for _, sh := range shellConfigs(home) {
		if _, err := os.Stat(sh.rcFile); err != nil {
			continue
		}
		if err := edit(sh.rcFile, sh.lines(bin)); err != nil {
			errs = append(errs, err)
			continue
		}
		changed++
	}
	if changed == 0 {
		if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("no shell startup file (~/.bashrc, ~/.zshrc) found"))
		}
		c.errorf("Error executing CLI: %s", errors.Join(errs...))
		return 1
	}
	return 0
}

// installCompletion appends lines to rc unless the completion line is
// already there.
func installCompletion(rc string, lines []string) error {
	data, err := os.ReadFile(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", rc, err)
	}
	if strings.Contains(string(data), lines[len(lines)-1]) {
		return fmt.Errorf("already installed in %s", rc)
	}
	f, err := os.OpenFile(rc, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rc, err)
	}
	defer f.Close()
	var add []string
	for _, l := range lines {
		if !strings.Contains(string(data), l) {
			add = append(add, l)
		}
	}
	if _, err := f.WriteString("\n" + strings.Join(add, "\n") + "\n"); err != nil {
		return fmt.Errorf("write %s: %w", rc, err)
	}
	return nil
}

// uninstallCompletion removes the completion line from rc.
func uninstallCompletion(rc string, lines []string) error {
	data, err := os.ReadFile(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", rc, err)
	}
	target := lines[len(lines)-1]
	if !strings.Contains(string(data), target) {
		return fmt.Errorf("not installed in %s", rc)
	}
	var kept []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != target {
			kept = append(kept, l)
		}
	}
	return os.WriteFile(rc, []byte(strings.Join(kept, "\n")), 0o644)
}

// complete answers a shell completion request: COMP_LINE holds the command
// line typed so far; candidates for its last word go to standard output.
func (c *cli) complete(line string) int {
	for _, candidate := range completions(line) {
		c.outf("%s", candidate)
	}
	return 0
}

// completions returns the candidates for the last word of line.
func completions(line string) []string {
	words := strings.Fields(line)
	if len(words) > 0 {
		words = words[1:] // the program name
	}
	last := ""
	if !strings.HasSuffix(line, " ") && len(words) > 0 {
		last, words = words[len(words)-1], words[:len(words)-1]
	}
	var candidates []string
	if v, _ := lookup(words); v != nil {
		if strings.HasPrefix(last, "-") {
			candidates = verbFlags(v)
		} else {
			candidates = fileCandidates(last)
		}
	} else if len(words) == 0 {
		candidates = topLevelNames()
	} else if _, ok := groupSynopses[words[0]]; ok && len(words) == 1 {
		candidates = subcommandNames(words[0])
	}
	var out []string
	for _, cand := range candidates {
		if strings.HasPrefix(cand, last) {
			out = append(out, cand)
		}
	}
	sort.Strings(out)
	return out
}

// topLevelNames lists the first words of every verb, group and alias.
func topLevelNames() []string {
	seen := map[string]bool{}
	for g := range groupSynopses {
		seen[g] = true
	}
	for _, v := range verbs() {
		for _, name := range append([]string{v.name}, v.aliases...) {
			if !strings.Contains(name, " ") {
				seen[name] = true
			}
		}
	}
	return sortedKeys(seen)
}

// subcommandNames lists the subcommands of a group.
func subcommandNames(group string) []string {
	var names []string
	for _, v := range verbs() {
		if sub, ok := strings.CutPrefix(v.name, group+" "); ok {
			names = append(names, sub)
		}
	}
	return names
}

// helpFlag matches a flag documented in a verb's help text.
var helpFlag = regexp.MustCompile(`(?m)^  -([a-z0-9][a-z0-9-]*)`)

// verbFlags lists the flags a verb's help documents.
func verbFlags(v *verb) []string {
	var flags []string
	for _, m := range helpFlag.FindAllStringSubmatch(v.help, -1) {
		flags = append(flags, "-"+m[1])
	}
	return flags
}

// fileCandidates lists the paths that start with prefix.
func fileCandidates(prefix string) []string {
	matches, _ := filepath.Glob(prefix + "*")
	return matches
}
