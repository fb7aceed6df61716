package benchscale

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePlot draws allocations placed and the broker's ready depth over
// time into a PNG (or SVG, PDF: by path's extension).
func (r *Report) WritePlot(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%d allocations on %d nodes, %d server(s): %.0f placements/s",
		r.Placed, r.Nodes, r.Servers, r.PlacementsPerSec())
	p.X.Label.Text = "seconds since first submission"
	p.Y.Label.Text = "allocations"
	placed := make(plotter.XYs, len(r.Samples))
	seen := make(plotter.XYs, len(r.Samples))
	broker := make(plotter.XYs, len(r.Samples))
	for i, s := range r.Samples {
		x := s.At.Seconds()
		placed[i] = plotter.XY{X: x, Y: float64(s.Placed)}
		seen[i] = plotter.XY{X: x, Y: float64(s.Seen)}
		broker[i] = plotter.XY{X: x, Y: float64(s.BrokerReady)}
	}
	for i, series := range []struct {
		name string
		xys  plotter.XYs
	}{{"running (seen by nodes)", placed}, {"handed to nodes", seen}, {"broker ready evals", broker}} {
		line, err := plotter.NewLine(series.xys)
		if err != nil {
			return err
		}
		line.Color = plotColors[i]
		p.Add(line)
		p.Legend.Add(series.name, line)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	return p.Save(10*vg.Inch, 6*vg.Inch, path)
}

var plotColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}
