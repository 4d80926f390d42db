package store

// OwnQueries are the store's own statements, for TestQueriesPrepare (an
// external test: storetest imports store).
var OwnQueries = queries
