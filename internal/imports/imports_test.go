package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

func newService(t *testing.T, dsn string) (*Service, *store.DB) {
	t.Helper()
	db := storetest.Open(t, dsn, store.Options{})
	s := New(db, slog.New(slog.DiscardHandler))
	s.ChunkRows = 3 // several chunks even in small files
	return s, db
}

func TestRunFile(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, db := newService(t, dsn)
		owner, err := db.CreateUser(ctx, store.User{Username: "ana", Role: "user", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		old, err := db.CreateContact(ctx, sms.Contact{Name: "Antiga", Phone: "+5511900000001",
			Fields: map[string]string{"cidade": "Santos", "plano": "ouro"}, Tags: []string{"vip"}})
		if err != nil {
			t.Fatal(err)
		}
		byExt, err := db.CreateContact(ctx, sms.Contact{Name: "Externa", Phone: "+5511900000009", ExternalID: "crm-9"})
		if err != nil {
			t.Fatal(err)
		}
		file := strings.Join([]string{
			"\ufeffNome;Celular;Cidade;Tags;Responsável;Código;Vazia",
			"Fulana Teste;(11) 90000-0001;Campinas;a,b;ana;;",         // 2: updates Antiga by phone
			"Beltrana Teste;11 90000-0002;;;;;",                       // 3: new
			"Sem Telefone;;Campinas;;;;",                              // 4: phone_empty
			"Fixo;(11) 3333-0001;;;;;",                                // 5: phone_landline
			"Letras;abc;;;;;",                                         // 6: phone_characters
			"Dono Errado;11900000003;;;zeca;;",                        // 7: unknown_owner
			"Beltrana Repetida;+55 11 90000-0002;Jundiaí;c;;;",        // 8: merged into 3 (same chunk? no: next chunk → update)
			"Ciclana;11900000004;;;;;",                                // 9: new
			"Ciclana de Novo;11900000004;Sorocaba;;;;",                // 10: merged into 9 (same chunk)
			"Externa Nova;11900000010;;;;crm-9;",                      // 11: updates byExt, phone changed
			"Conflito;11900000001;;;;crm-9;",                          // 12: crm-9 is byExt, phone is Antiga's: phone_conflict
			"Longo;11900000005;" + strings.Repeat("x", 1001) + ";;;;", // 13: field_too_long
		}, "\n")
		var seen []store.ImportCounts
		im, err := s.RunFile(ctx, "contatos.csv", strings.NewReader(file), int64(len(file)), Options{List: "Clientes", Tags: []string{"importado"}},
			func(c store.ImportCounts) { seen = append(seen, c) })
		if err != nil {
			t.Fatal(err)
		}
		if im.Status != store.ImportDone || im.RowsDone != 12 || len(seen) < 3 {
			t.Fatalf("import %+v after %d progress reports", im, len(seen))
		}
		wantBy := map[string]int64{sms.CodePhoneEmpty: 1, sms.CodePhoneLandline: 1, sms.CodePhoneCharacters: 1,
			ReasonUnknownOwner: 1, ReasonPhoneConflict: 1, ReasonFieldTooLong: 1}
		if fmt.Sprint(im.RejectedBy) != fmt.Sprint(wantBy) || im.Rejected != 6 {
			t.Errorf("rejected %d by %v, want 6 by %v", im.Rejected, im.RejectedBy, wantBy)
		}
		if im.Inserted != 2 || im.Merged != 1 || im.Updated != 3 {
			t.Errorf("inserted %d, updated %d, merged %d; want 2, 3, 1", im.Inserted, im.Updated, im.Merged)
		}

		got, err := db.GetContact(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Fulana Teste" || got.Fields["cidade"] != "Campinas" || got.Fields["plano"] != "ouro" ||
			got.OwnerID == nil || *got.OwnerID != owner.ID || strings.Join(got.Tags, ",") != "a,b,importado,vip" {
			t.Errorf("updated contact %+v", got)
		}
		b, err := db.ContactByPhone(ctx, "+5511900000002")
		if err != nil || b.Name != "Beltrana Repetida" || b.Fields["cidade"] != "Jundiaí" {
			t.Errorf("contact 2 = %+v, %v", b, err)
		}
		c, err := db.ContactByPhone(ctx, "+5511900000004")
		if err != nil || c.Name != "Ciclana de Novo" || c.Fields["cidade"] != "Sorocaba" {
			t.Errorf("merged contact = %+v, %v", c, err)
		}
		x, err := db.GetContact(ctx, byExt.ID)
		if err != nil || x.Phone != "+5511900000010" || x.Name != "Externa Nova" {
			t.Errorf("contact by external id = %+v, %v", x, err)
		}
		l, err := db.ListByName(ctx, "Clientes")
		if err != nil || l.Members != 4 {
			t.Errorf("list %+v, %v; want 4 members", l, err)
		}
		n, err := db.CountContacts(ctx, store.ContactFilter{Tag: "importado"})
		if err != nil || n != 4 {
			t.Errorf("tagged %d, %v", n, err)
		}

		var buf bytes.Buffer
		if err := s.Rejected(ctx, im.ID, &buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 7 || recs[1][0] != "4" || recs[1][1] != sms.CodePhoneEmpty || !strings.HasPrefix(recs[1][2], "Sem Telefone;") {
			t.Errorf("rejected.csv = %q", recs)
		}
	})
}

func TestRunFileBadInput(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, db := newService(t, dsn)
		for _, tt := range []struct {
			name, file string
			opts       Options
		}{
			{"no phone column", "nome,cidade\nFulana,Campinas\n", Options{}},
			{"empty", "", Options{}},
			{"mapping to nothing", "nome,telefone\nFulana,11900000001\n", Options{Map: map[string]string{"nome": "apelido"}}},
			{"mapped column missing", "nome,telefone\nFulana,11900000001\n", Options{Map: map[string]string{"cpf": "field:cpf"}}},
			{"two phone columns", "a,b\n1,2\n", Options{Map: map[string]string{"a": "phone", "b": "phone"}}},
			{"bad delimiter", "nome,telefone\n", Options{Delimiter: "|"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.RunFile(ctx, "x.csv", strings.NewReader(tt.file), 0, tt.opts, nil)
				if sms.KindOf(err) != sms.KindInvalid {
					t.Fatalf("err = %v, want invalid input", err)
				}
			})
		}
		if n, _ := db.CountContacts(ctx, store.ContactFilter{}); n != 0 {
			t.Errorf("bad files stored %d contacts", n)
		}
	})
}

func TestWindows1252AndResume(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, db := newService(t, dsn)
		// "João" and "São Paulo" in Windows-1252, tab-separated.
		file := "nome\ttelefone\tcidade\nJo\xe3o\t11900000001\tS\xe3o Paulo\nMaria\t11900000002\tRio\nJos\xe9\t11900000003\t\n"
		counts := store.ImportCounts{}
		done, err := s.run(ctx, 0, nil, strings.NewReader(file), Options{}, 0, &counts, time.Unix(1, 0), nil)
		if err != nil || done {
			t.Fatalf("first slice: done=%v err=%v", done, err)
		}
		if counts.Rows != 3 {
			t.Fatalf("first slice wrote %d rows, want a chunk of 3", counts.Rows)
		}
		c, err := db.ContactByPhone(ctx, "+5511900000001")
		if err != nil || c.Name != "João" || c.Fields["cidade"] != "São Paulo" {
			t.Errorf("decoded contact %+v, %v", c, err)
		}
		// Resume after the rows written: nothing is written twice.
		more := "nome\ttelefone\n" + "a\t11900000001\nb\t11900000002\nc\t11900000003\nd\t11900000004\n"
		done, err = s.run(ctx, 0, nil, strings.NewReader(more), Options{}, 3, &counts, time.Unix(1, 0), nil)
		if err != nil || !done || counts.Inserted != 4 || counts.Rows != 4 {
			t.Fatalf("resume: done=%v err=%v counts=%+v", done, err, counts)
		}
		if c, _ := db.ContactByPhone(ctx, "+5511900000001"); c.Name != "João" {
			t.Errorf("a resumed run rewrote row 1: %+v", c)
		}
	})
}

// BenchmarkImport measures rows per second importing a generated file of
// b.N rows (phones in the common written forms, a name and two custom
// fields), with chunks of 5000 rows. One b.N is one row.
func BenchmarkImport(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			dsn := storetest.SQLiteDSN(b)
			if dialect == "postgres" {
				dsn = storetest.PostgresDSN(b)
			}
			db := storetest.Open(b, dsn, store.Options{})
			s := New(db, slog.New(slog.DiscardHandler))
			pr, pw := io.Pipe()
			go func() {
				w := bufio.NewWriterSize(pw, 1<<16)
				w.WriteString("nome,telefone,cidade,vencimento\n")
				for i := range b.N {
					fmt.Fprintf(w, "Fulana Teste %d,(11) 9%04d-%04d,Campinas,%02d/12\n", i, (i/10000)%10000, i%10000, i%28+1)
				}
				w.Flush()
				pw.Close()
			}()
			b.ResetTimer()
			im, err := s.RunFile(context.Background(), "bench.csv", pr, 0, Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if im.Inserted+im.Updated+im.Merged != int64(b.N) {
				b.Fatalf("import %+v, want %d rows", im, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
