package store

// BoltPagesWritten is the number of pages b's committed transactions have written, for
// BenchmarkScale (package store_test) to show what a write costs bbolt as the tree grows.
func BoltPagesWritten(b *Bolt) int64 {
	stats := b.db.Stats()
	return stats.TxStats.GetWrite()
}
