package demo

import (
	"context"
	"fmt"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
)

// demoSession is an API session of a demo login: a step acts as the person who logs in, with the
// grants the accounts table gives them, never as an actor it made up.
type demoSession struct {
	as    *auth.Service
	token string
	// Actor is who the session authenticates as.
	Actor *auth.Actor
}

// demoLogin logs phone in with the demo password, as a client of the API would, waiting while the
// password hashes are busy.
func demoLogin(ctx context.Context, d *db.DB, phone string) (*demoSession, error) {
	as := auth.NewService(d)
	sess, err := as.Login(ctx, phone, DemoPassword, "127.0.0.1", "api")
	for try := 0; hashBusy(err) && try < 50; try++ {
		time.Sleep(100 * time.Millisecond)
		sess, err = as.Login(ctx, phone, DemoPassword, "127.0.0.1", "api")
	}
	if err != nil {
		return nil, fmt.Errorf("log in %s: %w", phone, err)
	}
	a, err := as.Authenticate(ctx, sess.Token)
	if err == nil && a == nil {
		err = fmt.Errorf("no session")
	}
	if err != nil {
		return nil, fmt.Errorf("log in %s: %w", phone, err)
	}
	return &demoSession{as: as, token: sess.Token, Actor: a}, nil
}

// Office puts the session in office mode for a resident, as a staff member does at the village
// office's counter, and returns the actor that now acts for them. The session's earlier actors
// keep what they were.
func (s *demoSession) Office(ctx context.Context, residentID int64) (*auth.Actor, error) {
	if err := s.as.StartOffice(ctx, s.Actor, residentID); err != nil {
		return nil, err
	}
	a, err := s.as.Authenticate(ctx, s.token)
	if err == nil && (a == nil || a.ActingFor == nil) {
		err = fmt.Errorf("office mode did not start")
	}
	return a, err
}

// Close ends the session; one left over would harm nobody.
func (s *demoSession) Close(ctx context.Context) {
	if s != nil {
		s.as.Logout(ctx, s.Actor)
	}
}
