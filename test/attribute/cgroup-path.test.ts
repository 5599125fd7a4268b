import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroupFile, parseCgroupPath, type CgroupIdentity } from '../../src/attribute/cgroup-path.js';
import { FIXTURES, SAMPLES_DIR } from '../helpers/paths.js';

const NONE: CgroupIdentity = { containerId: null, podUid: null, qos: null, runtime: null, unit: null, path: null };

function id(fields: Partial<CgroupIdentity> & { path: string }): CgroupIdentity {
  return { ...NONE, ...fields };
}

// ---- every sample of test/fixtures/samples/cgroups.txt (real files from public sources, see its SOURCES.md) ----

/** `### source label` → the content below it, up to the next label. */
function readSamples(): Map<string, string> {
  const text = readFileSync(join(SAMPLES_DIR, 'cgroups.txt'), 'utf8');
  const samples = new Map<string, string>();
  for (const block of text.split(/^### /m).slice(1)) {
    const nl = block.indexOf('\n');
    samples.set(block.slice(0, nl).trim(), block.slice(nl + 1));
  }
  return samples;
}

const SAMPLES: Record<string, CgroupIdentity> = {
  'spo_containers_test crio-cgroupfs-v1': id({
    containerId: 'af208fd68bf39a07a439ed0c9b6609b9ae63ecd8a5f1a2af3e0db48b945b320a',
    podUid: '26ba375c-2266-4ecc-bf2d-b626db8762af', qos: 'besteffort', runtime: 'cri-o',
    path: '/kubepods/besteffort/pod26ba375c-2266-4ecc-bf2d-b626db8762af/crio-af208fd68bf39a07a439ed0c9b6609b9ae63ecd8a5f1a2af3e0db48b945b320a',
  }),
  'spo_containers_test containerd-or-docker-cgroupfs-v1': id({
    containerId: 'b469ca5b54e01e7724b7a990f01d54f571dd7669b87851a87bd8b849c438c580',
    podUid: 'a201f46d-151a-4701-8f24-314bea77df79', qos: 'burstable', runtime: null,
    path: '/kubepods/burstable/poda201f46d-151a-4701-8f24-314bea77df79/b469ca5b54e01e7724b7a990f01d54f571dd7669b87851a87bd8b849c438c580',
  }),
  'spo_containers_test crio-conmon-v2': id({
    unit: 'crio-conmon-5819a498721cf8bb7e334809c9e48aa310bfc98801eb8017034ad17fb0749920.scope',
    path: '/system.slice/crio-conmon-5819a498721cf8bb7e334809c9e48aa310bfc98801eb8017034ad17fb0749920.scope',
  }),
  'spo_containers_test host-service-v2': id({ unit: 'crio.service', path: '/system.slice/crio.service' }),
  'kepler_container_test crio-systemd-v1': id({
    containerId: 'f93ee491b8ed2680d5a909eb098b14a9430173b57ca1c4efedd8768566d67e8e',
    podUid: 'd0511cd2-29d2-4215-be0f-f77bc0609d99', qos: 'burstable', runtime: 'cri-o',
    path: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podd0511cd2_29d2_4215_be0f_f77bc0609d99.slice/crio-f93ee491b8ed2680d5a909eb098b14a9430173b57ca1c4efedd8768566d67e8e.scope',
  }),
  'kepler_container_test crio-systemd-v2': id({
    containerId: 'a09343ca97901516c25036e2b954421254f8c68b384b536064e8999f0c4ed18d',
    podUid: '2c9f8a79-5391-454b-88cb-86190881cb96', qos: 'burstable', runtime: 'cri-o',
    path: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c9f8a79_5391_454b_88cb_86190881cb96.slice/crio-a09343ca97901516c25036e2b954421254f8c68b384b536064e8999f0c4ed18d.scope',
  }),
  'kepler_container_test docker-systemd-v1': id({
    containerId: '2fa3e04b676df750842faf017052dd37ea0cc5bc7259a3487a1718c7fe100c94', runtime: 'docker',
    path: '/system.slice/docker-2fa3e04b676df750842faf017052dd37ea0cc5bc7259a3487a1718c7fe100c94.scope',
  }),
  'kepler_container_test kind-nested-cgroupfs (path only, no hierarchy prefix)': id({
    containerId: 'c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38',
    podUid: 'bdd4097d-6795-404e-9bd8-6a1383386198', qos: 'besteffort', runtime: null,
    path: 'kubelet/kubepods/besteffort/podbdd4097d-6795-404e-9bd8-6a1383386198/c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38',
  }),
  'kepler_container_test containerd-systemd-v1 (containerd cgroupsPath slice:prefix:id form)': id({
    containerId: '01fd96f7ad292b02a8317cde4ecb8c7ef3cc06ffdd113f13410e0837eb2b2a20',
    podUid: '0043435f-1854-4327-b76b-730f681a781d', qos: 'besteffort', runtime: 'containerd',
    path: '/system.slice/containerd.service/kubepods-besteffort-pod0043435f_1854_4327_b76b_730f681a781d.slice:cri-containerd:01fd96f7ad292b02a8317cde4ecb8c7ef3cc06ffdd113f13410e0837eb2b2a20',
  }),
  'kepler_container_test containerd-cgroupfs-v1': id({
    containerId: '35b97177dada20362ab90d90ac63cd54e8a41cf87bea34f270631b6da17f4a93',
    podUid: 'f6adb0af-0855-4bab-b25b-c853f18d0ce2', qos: 'burstable', runtime: null,
    path: '/kubepods/burstable/podf6adb0af-0855-4bab-b25b-c853f18d0ce2/35b97177dada20362ab90d90ac63cd54e8a41cf87bea34f270631b6da17f4a93',
  }),
  'kepler_container_test cgroupfs-v2 guaranteed': id({
    containerId: '65d752a38e1db784d521f48c3f1956f4f9a74ebb923377144f253f3aca9fa028',
    podUid: '51b64565-2b17-4d46-83ac-22e398f2f7fb', qos: 'guaranteed', runtime: null,
    path: '/kubepods/pod51b64565-2b17-4d46-83ac-22e398f2f7fb/65d752a38e1db784d521f48c3f1956f4f9a74ebb923377144f253f3aca9fa028',
  }),
  'kepler_container_test cgroupfs-v2 burstable': id({
    containerId: 'a069581483b00a498b3ba172612ffed06b3275a043bf3895c1b19e783e2793ee',
    podUid: '5a89bcaa-3509-4375-83e1-b9e7a5712123', qos: 'burstable', runtime: null,
    path: '/kubepods/burstable/pod5a89bcaa-3509-4375-83e1-b9e7a5712123/a069581483b00a498b3ba172612ffed06b3275a043bf3895c1b19e783e2793ee',
  }),
  'kepler_container_test crio-systemd-v2 openshift guaranteed': id({
    containerId: '1c33afbc9e5aa6c69150d1af05254b562a4b17c313fc6153e3625cf456922bfe',
    podUid: '7922aa99-d4aa-4885-a953-82976860b23a', qos: 'guaranteed', runtime: 'cri-o',
    path: '/kubepods.slice/kubepods-pod7922aa99_d4aa_4885_a953_82976860b23a.slice/crio-1c33afbc9e5aa6c69150d1af05254b562a4b17c313fc6153e3625cf456922bfe.scope',
  }),
  'kepler_container_test crio-systemd-v2 openshift besteffort': id({
    containerId: 'bdf2eeede4551b27acbbb05fb1b4f61925786681734bf128e68d39e17d115098',
    podUid: 'dbdd9718-6f63-40ef-987e-34776599d7d6', qos: 'besteffort', runtime: 'cri-o',
    path: '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddbdd9718_6f63_40ef_987e_34776599d7d6.slice/crio-bdf2eeede4551b27acbbb05fb1b4f61925786681734bf128e68d39e17d115098.scope',
  }),
  'kepler_container_test podman-rootless-v2': id({
    containerId: '3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc', runtime: 'podman',
    path: '/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc.scope/container',
  }),
  'kepler_container_test kind-containerd-systemd-v2': id({
    containerId: '2b180104511194aab36fd295d3e217439f3ddb5bc88277f37b4952abee85c40e',
    podUid: '3cae2e45-052c-4b11-80d3-4d7b2d2d3464', qos: 'burstable', runtime: 'containerd',
    path: '/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod3cae2e45_052c_4b11_80d3_4d7b2d2d3464.slice/cri-containerd-2b180104511194aab36fd295d3e217439f3ddb5bc88277f37b4952abee85c40e.scope',
  }),
  'elastic_apm_json crio-systemd-v1 (name=systemd)': id({
    containerId: '2227daf62df6694645fee5df53c1f91271546a9560e8600a525690ae252b7f63',
    podUid: '90d81341-92de-11e7-8cf2-507b9d4141fa', qos: 'burstable', runtime: 'cri-o',
    path: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod90d81341_92de_11e7_8cf2_507b9d4141fa.slice/crio-2227daf62df6694645fee5df53c1f91271546a9560e8600a525690ae252b7f63.scope',
  }),
  'elastic_apm_json docker-systemd-v1 openshift': id({
    containerId: 'b15a5bdedd2e7645c3be271364324321b908314e4c77857bbfd32a041148c07f',
    podUid: '22949dce-fd8b-11ea-8ede-98f2b32c645c', qos: 'guaranteed', runtime: 'docker',
    path: '/kubepods.slice/kubepods-pod22949dce_fd8b_11ea_8ede_98f2b32c645c.slice/docker-b15a5bdedd2e7645c3be271364324321b908314e4c77857bbfd32a041148c07f.scope',
  }),
  'elastic_apm_json containerd-systemd-v2 gardener (seen inside container, no cgroupns)': id({
    containerId: '1cd3449e930b8a28c7595240fa32ba20c84f36d059e5fbe63104ad40057992d1',
    podUid: '121157b5-c67d-4c3e-9052-cb27bbb711fb', qos: 'burstable', runtime: 'containerd',
    path: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod121157b5_c67d_4c3e_9052_cb27bbb711fb.slice/cri-containerd-1cd3449e930b8a28c7595240fa32ba20c84f36d059e5fbe63104ad40057992d1.scope',
  }),
  // inside a cgroup namespace the process sees its own cgroup as the root: nothing to attribute
  'elastic_apm_json docker-in-container v2 with cgroupns': id({ path: '/' }),
  'elastic_apm_json docker-cgroupfs-v1': id({
    containerId: '051e2ee0bce99116029a13df4a9e943137f19f957f38ac02d6bad96f9b700f76', runtime: 'docker',
    path: '/docker/051e2ee0bce99116029a13df4a9e943137f19f957f38ac02d6bad96f9b700f76',
  }),
  'elastic_apm_json docker-systemd-v1': id({
    containerId: 'cde7c2bab394630a42d73dc610b9c57415dced996106665d427f6d0566594411', runtime: 'docker',
    path: '/system.slice/docker-cde7c2bab394630a42d73dc610b9c57415dced996106665d427f6d0566594411.scope',
  }),
  'elastic_apm_json cgroupfs-v1 nested kubepods/kubepods': id({
    containerId: '244a65edefdffe31685c42317c9054e71dc1193048cf9459e2a4dd35cbc1dba4',
    podUid: '0e886e9a-3879-45f9-b44d-86ef9df03224', qos: 'besteffort', runtime: null,
    path: '/kubepods/kubepods/besteffort/pod0e886e9a-3879-45f9-b44d-86ef9df03224/244a65edefdffe31685c42317c9054e71dc1193048cf9459e2a4dd35cbc1dba4',
  }),
  // ECS task ids are not 64-hex container ids: a group outside systemd units is host, no unit
  'elastic_apm_json ecs-v1': id({
    path: '/ecs/03752a671e744971a862edcee6195646/03752a671e744971a862edcee6195646-4015103728',
  }),
};

t.test('every shared sample gives the identity it shows', async (t) => {
  const samples = readSamples();
  t.same([...samples.keys()].sort(), Object.keys(SAMPLES).sort(), 'one expectation per sample, no more, no fewer');
  for (const [label, content] of samples) {
    t.same(parseCgroupFile(content), SAMPLES[label], label);
  }
});

// ---- constructed from the documented naming schemes (kubelet cgroup drivers, containerd, CRI-O,
// ---- docker, podman, systemd), one case per layout; not copied from real machines ----

const C1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const C2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C3 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const UID = '12345678-9abc-def0-1234-56789abcdef0';
const UID_ = UID.replaceAll('-', '_');
const STATIC_UID = '0123456789abcdef0123456789abcdef';

const LAYOUTS: Array<[string, string, Partial<Omit<CgroupIdentity, 'path'>>]> = [
  // systemd driver
  ['systemd containerd burstable', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'burstable', runtime: 'containerd' }],
  ['systemd containerd guaranteed (no qos slice)', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }],
  ['systemd cri-o besteffort', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'besteffort', runtime: 'cri-o' }],
  ['systemd dockershim burstable', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'burstable', runtime: 'docker' }],
  ['systemd static pod (32-hex uid)', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: STATIC_UID, qos: 'burstable', runtime: 'containerd' }],
  ['systemd pod level, no container', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`,
    { podUid: UID, qos: 'burstable' }],
  ['systemd qos level only', '/kubepods.slice/kubepods-burstable.slice', {}],
  ['upper-case hex is lowered', `/kubepods.slice/kubepods-pod${UID_.toUpperCase()}.slice/cri-containerd-${C3.toUpperCase()}.scope`,
    { containerId: C3, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }],
  // cgroupfs driver
  ['cgroupfs burstable bare id', `/kubepods/burstable/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'burstable' }],
  ['cgroupfs guaranteed bare id', `/kubepods/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'guaranteed' }],
  ['cgroupfs cri-o', `/kubepods/besteffort/pod${UID}/crio-${C1}`, { containerId: C1, podUid: UID, qos: 'besteffort', runtime: 'cri-o' }],
  ['cgroupfs static pod', `/kubepods/pod${STATIC_UID}/${C1}`, { containerId: C1, podUid: STATIC_UID, qos: 'guaranteed' }],
  ['cgroupfs pod level, no container', `/kubepods/burstable/pod${UID}`, { podUid: UID, qos: 'burstable' }],
  ['pod<uid> outside kubepods is no pod', `/somewhere/pod${UID}/${C1}`, { containerId: C1 }],
  // containerd's slice:prefix:id cgroupsPath under containerd.service
  ['containerd slice:prefix:id guaranteed', `/system.slice/containerd.service/kubepods-pod${UID_}.slice:cri-containerd:${C1}`,
    { containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }],
  ['containerd slice:prefix:id burstable', `/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${C1}`,
    { containerId: C1, podUid: UID, qos: 'burstable', runtime: 'containerd' }],
  // kind and other nested roots
  ['kind cgroupfs', `/kubelet/kubepods/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'guaranteed' }],
  ['kind systemd besteffort', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'besteffort', runtime: 'containerd' }],
  ['kind systemd guaranteed', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }],
  ['kind node seen from the host: the pod container, not the node container', `/system.slice/docker-${C2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }],
  ['pod level inside a kind node: no container', `/docker/${C2}/kubelet/kubepods/burstable/pod${UID}`, { podUid: UID, qos: 'burstable' }],
  ['kind node system service: the node container', `/system.slice/docker-${C2}.scope/system.slice/containerd.service`, { containerId: C2, runtime: 'docker' }],
  ['kubepods/kubepods', `/kubepods/kubepods/burstable/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'burstable' }],
  ['--cgroup-root below another group', `/machine/k8s/kubepods/besteffort/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'besteffort' }],
  ['container nested in a pod container: the kubelet\'s container', `/kubepods/pod${UID}/${C1}/docker/${C2}`, { containerId: C1, podUid: UID, qos: 'guaranteed' }],
  ['rootless kubelet (no pod slices)', `/user.slice/user-1001.slice/user@1001.service/user.slice/cri-containerd-${C1}.scope`, { containerId: C1, runtime: 'containerd' }],
  // read from inside a cgroup namespace that does not hold the process
  ['cgroupns-relative path', `/../../kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${C1}.scope`,
    { containerId: C1, podUid: UID, qos: 'besteffort', runtime: 'containerd' }],
  // k3s: pods under /kubepods (cgroupfs), and its own process group
  ['k3s pod', `/kubepods/besteffort/pod${UID}/${C1}`, { containerId: C1, podUid: UID, qos: 'besteffort' }],
  ['k3s own group (no systemd): host, not a unit', '/k3s', {}],
  ['k3s under systemd', '/system.slice/k3s.service', { unit: 'k3s.service' }],
  // docker and podman
  ['docker cgroupfs', `/docker/${C1}`, { containerId: C1, runtime: 'docker' }],
  ['docker systemd', `/system.slice/docker-${C1}.scope`, { containerId: C1, runtime: 'docker' }],
  ['docker in docker: the inner container', `/docker/${C2}/docker/${C1}`, { containerId: C1, runtime: 'docker' }],
  ['bare id at the root (old docker)', `/${C1}`, { containerId: C1 }],
  ['podman rootful', `/machine.slice/libpod-${C1}.scope`, { containerId: C1, runtime: 'podman' }],
  ['podman rootful in a podman pod', `/machine.slice/machine-libpod_pod_${C2}.slice/libpod-${C1}.scope`, { containerId: C1, runtime: 'podman' }],
  ['podman cgroupfs', `/libpod_parent/libpod-${C1}`, { containerId: C1, runtime: 'podman' }],
  ['podman rootless, trailing /container', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${C1}.scope/container`, { containerId: C1, runtime: 'podman' }],
  // runtime monitors are host processes
  ['podman conmon', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-${C1}.scope`, { unit: `libpod-conmon-${C1}.scope` }],
  ['cri-o conmon in a pod slice', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${C1}.scope`,
    { podUid: UID, qos: 'burstable', unit: `crio-conmon-${C1}.scope` }],
  ['cri-o conmon, cgroupfs', `/kubepods/burstable/pod${UID}/crio-conmon-${C1}`, { podUid: UID, qos: 'burstable', unit: `crio-conmon-${C1}` }],
  // host processes: their systemd unit; outside one, host with no unit (a group's name is no unit)
  ['service', '/system.slice/kubelet.service', { unit: 'kubelet.service' }],
  ['login session', '/user.slice/user-1000.slice/session-3.scope', { unit: 'session-3.scope' }],
  ['user service', '/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service', { unit: 'foo.service' }],
  ['templated service', '/system.slice/system-getty.slice/getty@tty1.service', { unit: 'getty@tty1.service' }],
  ['a slice holds units, it is none', '/system.slice', {}],
  ['a group outside systemd', '/process_api', {}],
  ['a group below one outside systemd', '/process_api/worker-3', {}],
  ['socket unit (its ExecStartPre)', '/system.slice/docker.socket', { unit: 'docker.socket' }],
  ['mount unit (mount helper)', '/system.slice/mnt-data.mount', { unit: 'mnt-data.mount' }],
  ['init scope', '/init.scope', { unit: 'init.scope' }],
  ['group below a service', '/system.slice/containerd.service/podruntime', { unit: 'containerd.service' }],
  ['root', '/', {}],
  ['a 63-hex name is no container id', `/docker/${C1.slice(1)}`, {}],
  ['a 65-hex name is no container id', `/system.slice/docker-${C1}a.scope`, { unit: `docker-${C1}a.scope` }],
];

t.test('each layout', async (t) => {
  for (const [name, path, want] of LAYOUTS) {
    t.same(parseCgroupPath(path), id({ path, ...want }), `${name}: path`);
    t.same(parseCgroupFile(`0::${path}\n`), id({ path, ...want }), `${name}: v2 line`);
  }
});

t.test('a v2 cgroup removed under the process is marked (deleted); the mark is not part of the path', async (t) => {
  const path = `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${C1}.scope`;
  const want = id({ path, containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' });
  t.same(parseCgroupFile(`0::${path} (deleted)\n`), want);
  t.same(parseCgroupFile(`${path} (deleted)`), want, 'bare path too');
  t.same(parseCgroupFile('0::/system.slice/foo.service (deleted)\n'), id({ path: '/system.slice/foo.service', unit: 'foo.service' }));
});

t.test('line forms: colons in the path, bare paths, CRLF, blank lines', async (t) => {
  const colon = `/system.slice/containerd.service/kubepods-pod${UID_}.slice:cri-containerd:${C1}`;
  t.same(parseCgroupFile(`5:memory:${colon}`), id({ path: colon, containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd' }),
    'split on the first two colons only');
  t.same(parseCgroupFile(`\n\n/docker/${C1}\r\n\n`), id({ path: `/docker/${C1}`, containerId: C1, runtime: 'docker' }));
  t.same(parseCgroupFile(`3:cpu,cpuacct:/docker/${C1}\r\n`), id({ path: `/docker/${C1}`, containerId: C1, runtime: 'docker' }));
  t.same(parseCgroupFile('9:name=systemd:/system.slice/my service.service'), id({ path: '/system.slice/my service.service', unit: 'my service.service' }),
    'a prefixed path may contain a space');
});

// ---- full cgroup v1 files whose hierarchies disagree (fixtures: see test/fixtures/cgroup/README.md) ----

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, 'cgroup', name), 'utf8');
}

t.test('multi-line v1 files: the line naming a container wins, then v2, then name=systemd, then file order', async (t) => {
  t.same(parseCgroupFile(fixture('v1-cgroupfs-containerd.txt')), id({
    path: `/kubepods/burstable/pod${UID}/${C1}`, containerId: C1, podUid: UID, qos: 'burstable',
  }), 'all hierarchies agree');
  t.same(parseCgroupFile(fixture('v1-systemd-host-but-cpu-container.txt')), id({
    path: `/kubepods/besteffort/pod${UID}/${C1}`, containerId: C1, podUid: UID, qos: 'besteffort',
  }), 'name=systemd names only a service, other hierarchies the container: the container');
  t.same(parseCgroupFile(fixture('v1-v2-disagree.txt')), id({
    path: `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${C1}.scope`, containerId: C1, podUid: UID, qos: 'guaranteed', runtime: 'containerd',
  }), 'v2 and a v1 hierarchy name different containers: v2');
  t.same(parseCgroupFile(fixture('v1-systemd-vs-cpu.txt')), id({
    path: `/system.slice/docker-${C1}.scope`, containerId: C1, runtime: 'docker',
  }), 'name=systemd and cpu name different containers: name=systemd');
  t.same(parseCgroupFile(fixture('v1-others-disagree.txt')), id({
    path: `/docker/${C2}`, containerId: C2, runtime: 'docker',
  }), 'only unnamed hierarchies name containers: the first in file order');
  t.same(parseCgroupFile(fixture('v1-host-service.txt')), id({ path: '/system.slice/kubelet.service', unit: 'kubelet.service' }),
    'host process: name=systemd names the unit, others only its slice or the root');
  t.same(parseCgroupFile(fixture('hybrid-host-service.txt')), id({ path: '/system.slice/kubelet.service', unit: 'kubelet.service' }),
    'hybrid: the v2 line names the unit');
  t.same(parseCgroupFile(fixture('v1-pod-vs-unit.txt')), id({ path: `/kubepods/burstable/pod${UID}`, podUid: UID, qos: 'burstable' }),
    'a pod beats a unit');
  t.same(parseCgroupFile(fixture('v1-root-everywhere.txt')), id({ path: '/' }), 'nothing anywhere: the v2 line\'s root');
  t.same(parseCgroupFile(fixture('v1-with-garbage-lines.txt')), id({ path: `/docker/${C1}`, containerId: C1, runtime: 'docker' }),
    'lines that are not cgroup lines are skipped');
});

t.test('bad input gives all nulls and never throws', async (t) => {
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['blank lines', '\n\n\r\n'],
    ['prose', 'hello world\n'],
    ['no slash', 'kubepods\n'],
    ['colons without a path', 'not:a:cgroup\n'],
    ['hierarchy without a path', '12:cpu\n'],
    ['v2 without a path', '0::\n'],
    ['relative path after the prefix', '12:cpu:relative/path\n'],
    ['NUL bytes', '\0\0\0/docker/x\0'],
    ['control characters', `0::/docker/${C1}\u0007\n`],
    ['all byte values', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('utf8')],
    ['invalid UTF-8', Buffer.from([0x30, 0x3a, 0x3a, 0x2f, 0xff, 0xfe, 0x2f, 0x61]).toString('utf8')],
    ['JSON', '{"cgroup": "none"}'],
    ['a very long line', 'x'.repeat(1_000_000)],
  ];
  for (const [name, input] of bad) t.same(parseCgroupFile(input), NONE, name);

  // random bytes: whatever comes out must be well-formed
  let seed = 42;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let round = 0; round < 200; round++) {
    const bytes = Buffer.from(Array.from({ length: 1 + (next() % 400) }, () => next() & 0xff));
    const got = parseCgroupFile(bytes.toString('utf8'));
    if (got.containerId !== null && !/^[0-9a-f]{64}$/.test(got.containerId)) t.fail(`round ${round}: bad container id ${got.containerId}`);
  }
  t.pass('random bytes never threw');
});
