package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"image/png"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Sealer encrypts secrets at rest (secrets.Box).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// SettingRequireManagerTOTP is the application setting ("true"/"false")
// that makes two-factor sign-in required for managers.
const SettingRequireManagerTOTP = "require_manager_totp"

// totpPeriod is the life of a code: the authenticator apps' default (with
// 6 digits and SHA-1).
const totpPeriod = 30 * time.Second

// TwoFactor manages two-factor sign-in with time-based one-time codes
// (RFC 6238): enrolment with a secret shown once as a QR code, codes good
// once each (the time step of the last one accepted is kept), one step of
// clock skew either way, and ten recovery codes for a lost phone.
type TwoFactor struct {
	db   *store.DB
	box  Sealer
	rand io.Reader
	now  func() time.Time
}

// NewTwoFactor returns the two-factor service; box seals the secrets.
func NewTwoFactor(db *store.DB, box Sealer, rnd io.Reader, now func() time.Time) *TwoFactor {
	if rnd == nil {
		rnd = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	return &TwoFactor{db: db, box: box, rand: rnd, now: now}
}

// Enrolment is a secret being set up: shown to the user as a QR code and
// as text, until a code from it confirms it.
type Enrolment struct {
	Secret string // base32, for typing into an app
	URL    string // otpauth:// URL, what the QR code holds
	QRPNG  []byte // the QR code as a PNG image
}

// Begin starts (or starts again) user u's enrolment: a new secret, kept
// sealed and not in use until Confirm. A user who already has two-factor
// keeps using the old secret until then.
func (t *TwoFactor) Begin(ctx context.Context, u store.User) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Recado", AccountName: u.Username, Rand: t.rand})
	if err != nil {
		return Enrolment{}, err
	}
	tf, err := t.db.UserTwoFactor(ctx, u.ID)
	if err != nil {
		return Enrolment{}, err
	}
	if tf.Enabled {
		return Enrolment{}, sms.Errorf(sms.KindConflict, "two-factor sign-in is already on: turn it off first")
	}
	sealed, err := t.box.Seal([]byte(key.Secret()))
	if err != nil {
		return Enrolment{}, err
	}
	if err := t.db.SetUserTwoFactor(ctx, u.ID, store.TwoFactor{Secret: sealed}); err != nil {
		return Enrolment{}, err
	}
	return enrolment(key)
}

func enrolment(key *otp.Key) (Enrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// Pending returns the enrolment user u started and has not confirmed, to
// show again (a page reloaded).
func (t *TwoFactor) Pending(ctx context.Context, u store.User) (Enrolment, bool, error) {
	tf, err := t.db.UserTwoFactor(ctx, u.ID)
	if err != nil || tf.Enabled || tf.Secret == "" {
		return Enrolment{}, false, err
	}
	secret, err := t.box.Open(tf.Secret)
	if err != nil {
		return Enrolment{}, false, err
	}
	q := url.Values{"issuer": {"Recado"}, "secret": {string(secret)}}
	key, err := otp.NewKeyFromURL("otpauth://totp/" + url.PathEscape("Recado:"+u.Username) + "?" + q.Encode())
	if err != nil {
		return Enrolment{}, false, err
	}
	e, err := enrolment(key)
	return e, err == nil, err
}

// Confirm turns two-factor sign-in on for user id when code comes from the
// secret being enrolled, and returns ten recovery codes, shown once.
func (t *TwoFactor) Confirm(ctx context.Context, id int64, code string) ([]string, error) {
	tf, err := t.db.UserTwoFactor(ctx, id)
	if err != nil {
		return nil, err
	}
	if tf.Enabled || tf.Secret == "" {
		return nil, sms.Errorf(sms.KindConflict, "no two-factor enrolment under way")
	}
	step, ok, err := t.match(tf.Secret, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sms.Invalid("wrong code", sms.FieldError{Field: "code", Message: "this code does not match: check the app's clock and try the next one"})
	}
	codes, hashes := t.recoveryCodes()
	tf.Enabled, tf.LastStep, tf.Recovery = true, step, hashes
	if err := t.db.SetUserTwoFactor(ctx, id, tf); err != nil {
		return nil, err
	}
	return codes, nil
}

// Enabled reports whether user id signs in with two factors.
func (t *TwoFactor) Enabled(ctx context.Context, id int64) (bool, error) {
	tf, err := t.db.UserTwoFactor(ctx, id)
	return tf.Enabled, err
}

// Verify checks a code at sign-in: a current code not used before, or one
// of the unused recovery codes (which is then spent). A wrong code is an
// error of kind KindUnauthorized.
func (t *TwoFactor) Verify(ctx context.Context, id int64, code string) error {
	tf, err := t.db.UserTwoFactor(ctx, id)
	if err != nil {
		return err
	}
	if !tf.Enabled {
		return sms.Errorf(sms.KindConflict, "two-factor sign-in is not on")
	}
	code = strings.TrimSpace(code)
	if len(code) == 6 {
		step, ok, err := t.match(tf.Secret, code)
		if err != nil {
			return err
		}
		if ok {
			fresh, err := t.db.UseTOTPStep(ctx, id, step)
			if err != nil {
				return err
			}
			if fresh {
				return nil
			}
		}
		return sms.Errorf(sms.KindUnauthorized, "wrong or already used code")
	}
	used, err := t.db.UseRecoveryCode(ctx, id, hashRecovery(code))
	if err != nil {
		return err
	}
	if !used {
		return sms.Errorf(sms.KindUnauthorized, "wrong or already used code")
	}
	return nil
}

// Disable turns two-factor sign-in off for user id and forgets its secret
// and recovery codes.
func (t *TwoFactor) Disable(ctx context.Context, id int64) error {
	return t.db.SetUserTwoFactor(ctx, id, store.TwoFactor{})
}

// RequiredFor reports whether a user of role must sign in with two factors:
// managers, when the administrator asked for it.
func (t *TwoFactor) RequiredFor(ctx context.Context, role auth.Role) (bool, error) {
	if role != auth.RoleManager {
		return false, nil
	}
	v, err := t.db.Setting(ctx, SettingRequireManagerTOTP, "false")
	return v == "true", err
}

// RequireForManagers sets whether managers must use two factors.
func (t *TwoFactor) RequireForManagers(ctx context.Context, on bool) error {
	v := "false"
	if on {
		v = "true"
	}
	return t.db.SetSetting(ctx, SettingRequireManagerTOTP, v)
}

// ManagersRequired reports the setting RequireForManagers sets.
func (t *TwoFactor) ManagersRequired(ctx context.Context) (bool, error) {
	return t.RequiredFor(ctx, auth.RoleManager)
}

// match reports whether code is the code of sealed's secret at the current
// time step or one step either side, and which step it is.
func (t *TwoFactor) match(sealed, code string) (int64, bool, error) {
	secret, err := t.box.Open(sealed)
	if err != nil {
		return 0, false, err
	}
	code = strings.TrimSpace(code)
	now := t.now()
	step := now.Unix() / int64(totpPeriod.Seconds())
	for _, d := range []int64{0, -1, 1} {
		at := time.Unix((step+d)*int64(totpPeriod.Seconds()), 0)
		want, err := totp.GenerateCodeCustom(string(secret), at, totp.ValidateOpts{Period: uint(totpPeriod.Seconds()), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true, nil
		}
	}
	return 0, false, nil
}

// recoveryCodes makes ten codes such as "K7QF-2M9X-PA3D" and their hashes.
func (t *TwoFactor) recoveryCodes() ([]string, []string) {
	codes, hashes := make([]string, 10), make([]string, 10)
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for i := range codes {
		var b [8]byte
		if _, err := io.ReadFull(t.rand, b[:]); err != nil {
			panic("accounts: no randomness: " + err.Error())
		}
		s := enc.EncodeToString(b[:])[:12]
		codes[i] = s[:4] + "-" + s[4:8] + "-" + s[8:]
		hashes[i] = hashRecovery(codes[i])
	}
	return codes, hashes
}

// hashRecovery hashes a recovery code as typed: case, spaces and dashes do
// not matter.
func hashRecovery(code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:])
}
