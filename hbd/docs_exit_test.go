package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/internal/doccheck"
)

// filesStatusDocs is where the docs say what `hbd run` refuses with exit
// status 6 beside the configuration's own errors.
type filesStatusDocs struct {
	help       string // hbd run -h, whole
	operations string // docs/operations.md, whole
	hbd8       string // docs/man/hbd.8, whole
}

// checkFilesStatus holds each place that lists the refusals of exit
// status 6 against the code's list (daemon.FilesRefusals): the 6 of `hbd
// run -h`'s exit statuses, the row 6 of operations.md's table in "A start
// refused (systemd)", hbd(8)'s EXIT STATUS 6.
func checkFilesStatus(refusals []string, docs filesStatusDocs) []string {
	var problems []string
	unsaid := func(where, text string) {
		for _, r := range doccheck.Unsaid(text, refusals) {
			problems = append(problems, fmt.Sprintf("%s does not say %q (exit status 6: daemon.FilesRefusals)", where, r))
		}
	}

	help := strings.Join(strings.Fields(docs.help), " ")
	_, six, ok := strings.Cut(help, " 6 configuration error")
	if ok {
		six, _, ok = strings.Cut(six, " 150 ")
	}
	if !ok {
		problems = append(problems, "hbd run -h: no \"6 configuration error\" followed by \"150 \" in its exit statuses")
	} else {
		unsaid("hbd run -h's exit status 6", six)
	}

	row := ""
	for _, r := range doccheck.TableRows(doccheck.Section(docs.operations, "A start refused (systemd)")) {
		if len(r) > 1 && r[0] == "6" {
			row = r[1]
		}
	}
	if row == "" {
		problems = append(problems, "docs/operations.md: no row 6 in the table of \"A start refused (systemd)\"")
	} else {
		unsaid("docs/operations.md's row 6", row)
	}

	para, ok := doccheck.Paragraphs(doccheck.ManSection(doccheck.ManLines(docs.hbd8), "EXIT STATUS"))["6"]
	if !ok {
		problems = append(problems, "hbd.8: no paragraph 6 in EXIT STATUS")
	} else {
		unsaid("hbd.8's EXIT STATUS 6", para)
	}
	return problems
}

// TestFilesStatusDocumented: `hbd run -h`, docs/operations.md and hbd(8)
// each name every refusal the code gives exit status 6.
func TestFilesStatusDocumented(t *testing.T) {
	var help, errOut bytes.Buffer
	dispatch([]string{"run", "-h"}, &help, &errOut)
	docs := filesStatusDocs{help: help.String() + errOut.String(), operations: readDoc(t, "docs/operations.md"), hbd8: readDoc(t, "docs/man/hbd.8")}
	for _, p := range checkFilesStatus(daemon.FilesRefusals(), docs) {
		t.Error(p)
	}
}

// TestCheckFilesStatusFails: a refusal missing from any of the three
// places is caught, and so is a place whose form changed.
func TestCheckFilesStatusFails(t *testing.T) {
	refusals := []string{"a pid or lock file that is not a file", "a file where a directory should be"}
	help := "Exit status: 0 stopped, 2 usage error, 6 configuration error (also a pid or lock\nfile that is not a file, a file where a directory should be), 150 another hbd runs."
	ops := "## A start refused (systemd)\n\n| status | why | unit |\n| --- | --- | --- |\n| 6 | the files: a pid or lock file that is not a file, a file where a directory should be | no retry |\n| 1 | the machine | retried |\n"
	man := ".SH EXIT STATUS\n.TP\n.B 6\nconfiguration error: a pid or lock file that is not a\nfile, a\n.I file\nwhere a directory should be.\n.TP\n.B 150\nanother hbd.\n"
	in := filesStatusDocs{help: help, operations: ops, hbd8: man}
	tests := []struct {
		name     string
		docs     filesStatusDocs
		problems []string
	}{
		{"in step", in, nil},
		{"help", filesStatusDocs{strings.Replace(help, "a file where", "where", 1), ops, man},
			[]string{`hbd run -h's exit status 6 does not say "a file where a directory should be"`}},
		{"help: said under another status", filesStatusDocs{strings.Replace(strings.Replace(help, ", a file where a directory should be)", ")", 1), "2 usage error", "2 usage error, a file where a directory should be", 1), ops, man},
			[]string{`hbd run -h's exit status 6 does not say "a file where a directory should be"`}},
		{"operations.md", filesStatusDocs{help, strings.Replace(ops, "a pid or lock file that is not a file, ", "", 1), man},
			[]string{`docs/operations.md's row 6 does not say "a pid or lock file that is not a file"`}},
		{"operations.md: only in row 1", filesStatusDocs{help, strings.Replace(strings.Replace(ops, ", a file where a directory should be |", " |", 1), "the machine", "a file where a directory should be", 1), man},
			[]string{`docs/operations.md's row 6 does not say "a file where a directory should be"`}},
		{"hbd.8", filesStatusDocs{help, ops, strings.Replace(man, "lock file", "file", 1)},
			[]string{`hbd.8's EXIT STATUS 6 does not say "a pid or lock file that is not a file"`}},
		{"forms changed", filesStatusDocs{strings.Replace(help, "150", "9", 1), strings.Replace(ops, "| 6 |", "| six |", 1), strings.Replace(man, ".B 6", ".B six", 1)},
			[]string{"hbd run -h: no", "docs/operations.md: no row 6", "hbd.8: no paragraph 6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkFilesStatus(refusals, tt.docs), tt.problems)
		})
	}
}
