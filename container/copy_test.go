package container

import "testing"

// TestPlanCopy holds `docker cp`'s rules for where a copy lands (moby's CopyInfoDestinationPath
// and PrepareArchiveCopy, checked against Docker 20.10 by TestCpDockerRules).
func TestPlanCopy(t *testing.T) {
	for _, c := range []struct {
		src           string
		srcIsDir      bool
		dst           string
		exists, isDir bool
		want          copyPlan
		err           error
	}{
		{"/w/f", false, "/out", true, true, copyPlan{"/out", "f"}, nil},          // into a directory
		{"/w/d", true, "/out", true, true, copyPlan{"/out", "d"}, nil},           // a directory into one
		{"/w/d/.", true, "/out", true, true, copyPlan{"/out", "."}, nil},         // its content
		{"/", true, "/out", true, true, copyPlan{"/out", "."}, nil},              // the root's content
		{"/w/f", false, "/out/x", false, false, copyPlan{"/out", "x"}, nil},      // a new name
		{"/w/d", true, "/out/x", false, false, copyPlan{"/out", "x"}, nil},       // a new directory
		{"/w/d/.", true, "/out/x/", false, false, copyPlan{"/out", "x"}, nil},    // content as a new directory
		{"/w/f", false, "/out/f2", true, false, copyPlan{"/out", "f2"}, nil},     // over a file
		{"/w/d", true, "/out/f2", true, false, copyPlan{}, errCannotCopyDir},     // a directory over a file
		{"/w/f", false, "/out/new/", false, false, copyPlan{}, errDirNotExists},  // a file to a missing directory
		{"/w/f", false, "/out/new/.", false, false, copyPlan{}, errDirNotExists}, // the same
	} {
		got, err := planCopy(sourceOf(c.src, c.srcIsDir), c.dst, c.exists, c.isDir)
		if got != c.want || err != c.err {
			t.Errorf("planCopy(%s, %s) = %+v, %v; want %+v, %v", c.src, c.dst, got, err, c.want, c.err)
		}
	}
}
