package inspect

import (
	"maps"
	"slices"

	"github.com/unmirror/unmirror/device"
)

// parseDevice parses a device string the way TensorFlow reads it where it
// occurs: a full or partial name (NodeDef.device, SavedVariable.device), or a
// bare type such as "CPU" (SavedResource.device), read as /device:CPU.
func parseDevice(dev string) (device.Spec, error) {
	s, err := device.Parse(dev)
	if err != nil {
		if bare, berr := device.Parse("/device:" + dev); berr == nil {
			return bare, nil
		}
	}
	return s, err
}

// deviceKinds returns the device artifacts one device string shows; a
// string TensorFlow does not parse shows none (the verdict reports it).
func deviceKinds(dev string) []string {
	s, err := parseDevice(dev)
	if err != nil {
		return nil
	}
	var out []string
	if s.Kind() == device.KindGPU {
		out = append(out, ArtifactDeviceGPU)
	}
	if s.Kind() == device.KindCPU && s.HasID && s.ID > 0 {
		out = append(out, ArtifactDeviceCPUN)
	}
	if (s.HasJob && s.Job != device.LocalJob) || (s.HasTask && s.Task != 0) {
		out = append(out, ArtifactDeviceJob)
	}
	return out
}

// deviceCount is the census entry of one device string.
type deviceCount struct {
	nodes, objects int
	examples       []Evidence
	// soft counts the nodes in function bodies TensorFlow soft-places
	// (graphdef.SoftPlacedFunctions); hard are the examples of the other
	// uses.
	soft int
	hard []Evidence
}

// blocks says why the placer finds no device for this device string in a
// one-device process of t, with examples of the uses that fail, or "" when
// every use places: uses in soft-placed function bodies need only a local
// job, replica and task (device.Target.SoftUnplaceable).
func (c *deviceCount) blocks(dev string, t device.Target) (string, []Evidence) {
	if c.nodes+c.objects > c.soft {
		return deviceBlocks(dev, t), c.hard
	}
	return softDeviceBlocks(dev, t), c.examples
}

// device counts one use of the device string dev at where: by a NodeDef, or
// by an object (SavedVariable, component, SavedResource) when object is
// set; soft marks a node in a function body the runtime soft-places. It
// adds the device artifacts dev shows.
func (s *scan) device(dev string, where place, object, soft bool) {
	c := s.devices[dev]
	if c == nil {
		c = &deviceCount{}
		s.devices[dev] = c
	}
	if object {
		c.objects++
	} else {
		c.nodes++
	}
	if soft {
		c.soft++
	}
	if dev == "" {
		return
	}
	if len(c.examples) < s.max {
		c.examples = append(c.examples, Evidence{Where: where.String(), Detail: dev})
	}
	if !soft && len(c.hard) < s.max {
		c.hard = append(c.hard, Evidence{Where: where.String(), Detail: dev})
	}
	kinds, ok := s.kinds[dev]
	if !ok {
		kinds = deviceKinds(dev)
		s.kinds[dev] = kinds
	}
	for _, a := range kinds {
		s.add(a, where, dev)
	}
}

// deviceUses returns the device census, sorted by device string.
func (s *scan) deviceUses(targets []device.Target) []DeviceUse {
	out := []DeviceUse{}
	for _, d := range slices.Sorted(maps.Keys(s.devices)) {
		c := s.devices[d]
		u := DeviceUse{Device: d, Nodes: c.nodes, Objects: c.objects, Blocks: []string{}}
		for _, t := range targets {
			if why, _ := c.blocks(d, t); why != "" {
				u.Blocks = append(u.Blocks, targetName(t))
			}
		}
		out = append(out, u)
	}
	return out
}
