package api

func (s *Server) registerReports() {}
