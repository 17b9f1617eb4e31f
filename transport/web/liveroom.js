// liveroom JS client
