package honours

// Certificate is one printable certificate (荣誉证书): to whom, for what, by which town and when.
// The wall's names and a contest's winners print on the same page (templates/_certificate.html,
// "honours-certificates"), one A4 landscape sheet each.
type Certificate struct {
	Name     string // the person or household honoured
	Village  string
	Citation string // what for: 被评为2026年度潞城镇“身边好人”（孝老爱亲）
	Town     string // the issuing town, as it signs: 潞城镇人民政府
	Date     string // the day of issue, written out: 2026年12月4日
}
