package store

// WaitingJobsWhere is waitingJobsWhere, for the plan tests.
const WaitingJobsWhere = waitingJobsWhere
