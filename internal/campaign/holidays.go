package campaign

import "time"

// easter returns Easter Sunday of year (Gregorian calendar), by the
// anonymous Gregorian algorithm (Meeus/Jones/Butcher).
func easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// Holidays returns Brazil's national holidays of year by date (2026-04-03)
// with their names: the fixed ones (New Year, Tiradentes, Labour Day,
// Independence, Nossa Senhora Aparecida, All Souls, the Republic, Black
// Consciousness — national since 2024 —, Christmas) and those that move with
// Easter (Carnival Monday and Tuesday, Good Friday, Corpus Christi). Carnival
// and Corpus Christi are optional days off for the federal government but
// few businesses message customers on them, so they count.
func Holidays(year int) map[string]string {
	h := map[string]string{}
	add := func(t time.Time, name string) { h[t.Format("2006-01-02")] = name }
	fixed := func(m time.Month, d int, name string) { add(time.Date(year, m, d, 0, 0, 0, 0, time.UTC), name) }
	fixed(time.January, 1, "Confraternização Universal")
	fixed(time.April, 21, "Tiradentes")
	fixed(time.May, 1, "Dia do Trabalho")
	fixed(time.September, 7, "Independência do Brasil")
	fixed(time.October, 12, "Nossa Senhora Aparecida")
	fixed(time.November, 2, "Finados")
	fixed(time.November, 15, "Proclamação da República")
	if year >= 2024 {
		fixed(time.November, 20, "Dia Nacional de Zumbi e da Consciência Negra")
	}
	fixed(time.December, 25, "Natal")
	e := easter(year)
	add(e.AddDate(0, 0, -48), "Carnaval (segunda-feira)")
	add(e.AddDate(0, 0, -47), "Carnaval (terça-feira)")
	add(e.AddDate(0, 0, -2), "Sexta-feira Santa")
	add(e.AddDate(0, 0, 60), "Corpus Christi")
	return h
}

// IsHoliday reports whether t's date, where t is, is a national holiday.
func IsHoliday(t time.Time) bool {
	_, ok := Holidays(t.Year())[t.Format("2006-01-02")]
	return ok
}
