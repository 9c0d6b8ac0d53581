package kolmeya

// The paths of Kolmeya's endpoints, relative to the base URL. Every path the
// client uses is here and nowhere else, so that a correction to the contract
// is a change of one line. Paths with a %s take an escaped job id.
const (
	pathStore             = "/sms/store"
	pathStoreToken        = "/sms/store-token"
	pathStatusRequest     = "/sms/status/request"
	pathStatusMessage     = "/sms/status/message"
	pathBalance           = "/sms/balance"
	pathSegments          = "/sms/segments"
	pathAPIs              = "/sms/apis"
	pathLayouts           = "/sms/layouts"
	pathReplies           = "/sms/replys" // sic
	pathWebReplies        = "/sms/replys-web"
	pathReportJobs        = "/sms/reports/jobs"
	pathReportJobStatuses = "/sms/reports/statuses/%s"
	pathReportStatuses    = "/sms/reports/statuses"
	pathQuantityJobs      = "/sms/reports/quantity-jobs"
	pathAccesses          = "/sms/accesses"
	pathBlacklistStore    = "/blacklist/store" // not under /sms
	pathBlacklistDestroy  = "/blacklist/destroy"
	pathJobPause          = "/sms/jobs/%s/pause"
	pathJobPlay           = "/sms/jobs/%s/play"
)

// DefaultBaseURL is Kolmeya's production API.
const DefaultBaseURL = "https://kolmeya.com.br/api/v1"
