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
	"siwei/internal/people"
	"siwei/internal/server"
	"siwei/internal/web"
)

// jobTown resolves --town, or the only town when there is one.
func jobTown(ctx context.Context, sys *server.System, name string) (people.Town, error) {
	if name != "" {
		t, err := sys.People.TownByName(ctx, name)
		if err != nil {
			return t, fmt.Errorf("no town named %s", name)
		}
		return t, nil
	}
	ts, err := sys.People.Towns(ctx, auth.System(""))
	if err != nil {
		return people.Town{}, err
	}
	if len(ts) != 1 {
		return people.Town{}, fmt.Errorf("there are %d towns: name one with --town", len(ts))
	}
	return ts[0], nil
}

func importCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "residents" {
		return errors.New("usage: siwei import residents [--town NAME] FILE.xlsx")
	}
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	c := common(fs)
	town := fs.String("town", "", "town name (default: the only town)")
	fs.Parse(args[1:])
	if fs.NArg() != 1 {
		return errors.New("usage: siwei import residents [--town NAME] FILE.xlsx")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
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
	rep, err := sys.People.ImportResidents(ctx, auth.System("siwei import"), t.ID, bytes.NewReader(data))
	if len(rep.Errors) > 0 {
		for _, e := range rep.Errors {
			fmt.Fprintf(os.Stderr, "第 %d 行 %s：%s\n", e.Row, e.Column, cat.T(web.DefaultLang, e.Key))
		}
		return fmt.Errorf("%d problems; nothing was imported", len(rep.Errors))
	}
	if e, ok := errs.As(err); ok {
		return errors.New(cat.T(web.DefaultLang, e.Key, e.Args...))
	}
	if err != nil {
		return err
	}
	fmt.Printf("imported %d residents into %s\n", rep.Imported, t.Name)
	return nil
}

func exportCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "residents" {
		return errors.New("usage: siwei export residents --village NAME [--town NAME] FILE.xlsx")
	}
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	c := common(fs)
	town := fs.String("town", "", "town name (default: the only town)")
	village := fs.String("village", "", "village name")
	fs.Parse(args[1:])
	if fs.NArg() != 1 || *village == "" {
		return errors.New("usage: siwei export residents --village NAME [--town NAME] FILE.xlsx")
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
	v, err := sys.People.VillageByName(ctx, t.ID, *village)
	if err != nil {
		return fmt.Errorf("no village named %s in %s", *village, t.Name)
	}
	var buf bytes.Buffer
	if err := sys.People.ExportResidents(ctx, auth.System("siwei export"), v.ID, &buf); err != nil {
		return err
	}
	if err := os.WriteFile(fs.Arg(0), buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d bytes)\n", fs.Arg(0), buf.Len())
	return nil
}
