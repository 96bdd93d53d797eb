"""Scheduling core: shifts, calendars, markets, availability and routing, with no I/O.

Everything here is plain dataclasses and functions over aware UTC instants; nothing
touches the database, the network or an event loop. Each type has `to_dict`/`from_dict`
so the store can keep it as JSON or rows.

    localtime     zones, weekdays, and the rules that turn wall-clock times into instants
    intervals     half-open UTC intervals: merge, clip, subtract, intersect
    codec         JSON forms of wall-clock times, dates, durations and instants
    calendars     holiday calendars (python-holidays + manual entries), working days
    shifts        weekly local shifts, dated overrides, time off; expand and on_shift
    markets       a market's zone, languages, weekend, business hours, reply target
    agents        an agent's profile; who suits a market and a language
    availability  who is on shift, when someone next is, a market's weekly coverage
    display       instants as "Monday 09:00" in the shopper's zone and language
    routing       choose an agent for a conversation; order and drain the queue
    demo          the demo store's agents and markets
    errors        SchedulingError and its subclasses (all are BadRequest)
"""
