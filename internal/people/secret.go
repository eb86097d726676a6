package people

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Cipher encrypts 身份证号 with AES-GCM and makes the keyed hash that keeps them unique and lets
// staff look one up without decrypting the table. Both keys derive from one secret.
type Cipher struct {
	aead    cipher.AEAD
	hashKey []byte
	// Secret is the master secret, for other packages that derive keys from it (card tokens).
	Secret []byte
}

// NewCipher derives the keys from a master secret of at least 32 bytes.
func NewCipher(secret []byte) (*Cipher, error) {
	if len(secret) < 32 {
		return nil, errors.New("people: secret must be at least 32 bytes")
	}
	encKey := derive(secret, "siwei id-number encryption")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead, hashKey: derive(secret, "siwei id-number lookup"), Secret: secret}, nil
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Derive returns a 32-byte key for a named purpose, for other packages.
func (c *Cipher) Derive(purpose string) []byte { return derive(c.Secret, purpose) }

// Encrypt seals plaintext with a fresh nonce prepended.
func (c *Cipher) Encrypt(plain string) []byte {
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce)
	return c.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// Decrypt opens what Encrypt sealed.
func (c *Cipher) Decrypt(sealed []byte) (string, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("people: decrypt: too short")
	}
	p, err := c.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("people: decrypt: %w", err)
	}
	return string(p), nil
}

// Hash is the keyed hash of an ID number, stored for uniqueness and look-up.
func (c *Cipher) Hash(id string) string {
	m := hmac.New(sha256.New, c.hashKey)
	m.Write([]byte(strings.ToUpper(id)))
	return hex.EncodeToString(m.Sum(nil))
}

// LoadSecret returns the master secret: SIWEI_SECRET (64 hex digits) if set, else the file
// secret.key in dataDir, created on first use. Every app server of a district must share it.
func LoadSecret(dataDir string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv("SIWEI_SECRET")); v != "" {
		b, err := hex.DecodeString(v)
		if err != nil || len(b) < 32 {
			return nil, errors.New("people: SIWEI_SECRET must be at least 64 hex digits")
		}
		return b, nil
	}
	path := filepath.Join(dataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		warnIfShared(path)
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("people: %s is not a valid key", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("people: read secret: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("people: secret: %w", err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadSecret(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("people: write secret: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, err
	}
	return k, f.Sync()
}

// warnIfShared warns when users other than the owner may read the key: whoever reads it can
// decrypt every 身份证号 in a copy of the database. It only warns, since the operator may have
// meant it (a backup user's group); chmod 600 silences it.
func warnIfShared(path string) {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" {
		return
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		slog.Warn("secret.key is readable by other users: run chmod 600 on it", "path", path, "mode", fmt.Sprintf("%04o", m))
	}
}
