package client

// pendingSet maps request ids to waiting calls. A session rarely has more than a couple of
// requests in flight, so two inline slots serve them without a map; the map is made only for
// more and dropped when it empties. (A map per Conn cost ~140 B per idle connection.)
// It is guarded by Conn.pmu.
type pendingSet struct {
	ids  [2]uint64 // 0 = free slot (ids start at 1)
	cls  [2]*call
	more map[uint64]*call
}

func (p *pendingSet) add(id uint64, cl *call) {
	for i := range p.ids {
		if p.ids[i] == 0 {
			p.ids[i], p.cls[i] = id, cl
			return
		}
	}
	if p.more == nil {
		p.more = make(map[uint64]*call)
	}
	p.more[id] = cl
}

// take removes and returns the call for id, or nil.
func (p *pendingSet) take(id uint64) *call {
	if id == 0 {
		return nil
	}
	for i := range p.ids {
		if p.ids[i] == id {
			cl := p.cls[i]
			p.ids[i], p.cls[i] = 0, nil
			return cl
		}
	}
	cl, ok := p.more[id]
	if !ok {
		return nil
	}
	delete(p.more, id)
	if len(p.more) == 0 {
		p.more = nil
	}
	return cl
}

// drain removes every call, handing each to fn.
func (p *pendingSet) drain(fn func(*call)) {
	for i := range p.ids {
		if p.ids[i] != 0 {
			cl := p.cls[i]
			p.ids[i], p.cls[i] = 0, nil
			fn(cl)
		}
	}
	for _, cl := range p.more {
		fn(cl)
	}
	p.more = nil
}

func (p *pendingSet) len() int {
	n := len(p.more)
	for _, id := range p.ids {
		if id != 0 {
			n++
		}
	}
	return n
}
