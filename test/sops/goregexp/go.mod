module example.invalid/smc/goregexp

go 1.26.8
