// Package conventions holds no code: its tests check rules that every file
// of the repository keeps, so that a change breaking one fails go test
// rather than a review.
//
//   - The project explains itself: no file names a path outside the
//     repository (a developer's machine, design notes kept elsewhere); it
//     cites RFCs, upstream sources or its own docs/ instead.
//   - Every runnable example states its output, so that go test runs it.
package conventions
