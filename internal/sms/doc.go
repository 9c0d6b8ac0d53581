// Package sms is Recado's domain: messages and the states they move through,
// contacts and their SMS statistics, phone numbers, segment counting and
// folding to GSM-7, money, and the kinds of error every layer above speaks in.
//
// It imports nothing of Recado's and does no I/O, so every rule here is tested
// without a database or a network. Storage, providers and the HTTP API build on
// these types; none of them re-implement a rule that lives here.
package sms
