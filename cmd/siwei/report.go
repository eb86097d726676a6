package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/report"
	"siwei/internal/web"
)

const reportUsage = "usage: siwei report monthly --period 2026-11 [--town NAME] FILE.xlsx"

// reportCmd is `siwei report monthly`: a town's monthly report (月报) as a workbook, the one the
// admin console downloads, for a clerk or a scheduled job.
func reportCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "monthly" {
		return errors.New(reportUsage)
	}
	fs := flag.NewFlagSet("report monthly", flag.ExitOnError)
	c := common(fs)
	town := fs.String("town", "", "town name (default: the only town)")
	period := fs.String("period", "", "the month, 2026-11 (default: last month)")
	fs.Parse(args[1:])
	if fs.NArg() != 1 {
		return errors.New(reportUsage)
	}
	sys, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer sys.DB.Close()
	t, err := jobTown(ctx, sys, *town)
	if err != nil {
		return err
	}
	cat := mustCatalog()
	m, err := sys.Report.Monthly(ctx, auth.System("siwei report"), t.ID, *period)
	if e, ok := errs.As(err); ok {
		msg := cat.T(web.DefaultLang, e.Key, e.Args...)
		for _, f := range e.Fields {
			msg += "；--" + f.Field + "：" + cat.T(web.DefaultLang, f.Key, f.Args...)
		}
		return errors.New(msg)
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WriteMonthly(&buf, cat, web.DefaultLang, m); err != nil {
		return err
	}
	if err := os.WriteFile(fs.Arg(0), buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s %s (%d bytes)\n", fs.Arg(0), t.Name, m.Doc.Period.Spec, buf.Len())
	return nil
}
