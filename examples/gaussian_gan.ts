// The d2l.ai GAN chapter's Gaussian experiment, ported line by line from PyTorch to Kiln. Each Kiln line
// carries the PyTorch line it replaces as a comment. Run: npm run example:gaussian
import { pathToFileURL } from 'node:url';
import * as kiln from '../src/node.js';
import { nn, optim, data, type Tensor } from '../src/node.js';

export interface GaussianOptions {
  numEpochs?: number; samples?: number; seed?: number; log?: (line: string) => void;
  /** Called with the models before training (tests snapshot the initial weights). */
  onStart?: (generator: nn.Module, discriminator: nn.Module) => Promise<void>;
}

export async function main(o: GaussianOptions = {}) {
  await kiln.init();
  kiln.manualSeed(o.seed ?? 0);
  const log = o.log ?? console.log;

  // X=np.random.normal(size=(1000,2))
  const X = kiln.randn([o.samples ?? 1000, 2]);
  // A=np.array([[1,2],[-0.1,0.5]]); b=np.array([1,2])
  const A = kiln.tensor([[1, 2], [-0.1, 0.5]]);
  const b = kiln.tensor([1, 2]);
  // data=X.dot(A)+b
  const realData = X.matmul(A).add(b);
  // batch_size=8
  const batchSize = 8;
  // data_iter=DataLoader(data,batch_size=batch_size)
  const dataIter = new data.DataLoader(await data.TensorDataset.fromTensors(realData), { batchSize });

  // class net_G(nn.Module):
  class NetG extends nn.Module {
    model: nn.Sequential;
    constructor() {
      super(); // super(net_G,self).__init__()
      this.model = new nn.Sequential(new nn.Linear(2, 2)); // self.model=nn.Sequential(nn.Linear(2,2))
      this.initializeWeights(); // self._initialize_weights()
    }
    forward(x: Tensor) { return this.model.forward(x); } // x=self.model(x); return x
    initializeWeights() {
      for (const m of this.modules()) { // for m in self.modules():
        if (m instanceof nn.Linear) { // if isinstance(m,nn.Linear):
          m.weight.data.normal_(0, 0.02); // m.weight.data.normal_(0,0.02)
          m.bias!.data.zero_(); // m.bias.data.zero_()
        }
      }
    }
  }

  // class net_D(nn.Module):
  class NetD extends nn.Module {
    model: nn.Sequential;
    constructor() {
      super();
      this.model = new nn.Sequential( // self.model=nn.Sequential(
        new nn.Linear(2, 5), // nn.Linear(2,5),
        new nn.Tanh(), // nn.Tanh(),
        new nn.Linear(5, 3), // nn.Linear(5,3),
        new nn.Tanh(), // nn.Tanh(),
        new nn.Linear(3, 1), // nn.Linear(3,1),
        new nn.Sigmoid(), // nn.Sigmoid()
      );
      this.initializeWeights();
    }
    forward(x: Tensor) { return this.model.forward(x); }
    initializeWeights() {
      for (const m of this.modules()) {
        if (m instanceof nn.Linear) { m.weight.data.normal_(0, 0.02); m.bias!.data.zero_(); }
      }
    }
  }

  // def update_D(X,Z,net_D,net_G,loss,trainer_D):
  async function updateD(X: Tensor, Z: Tensor, netD: NetD, netG: NetG, loss: nn.BCELoss, trainerD: optim.Adam) {
    const batchSize = X.size(0); // batch_size=X.shape[0]
    const ones = kiln.ones([batchSize]).view(batchSize, 1); // ones=Variable(Tensor(np.ones(batch_size))).view(batch_size,1)
    const zeros = kiln.zeros([batchSize]).view(batchSize, 1); // zeros = Variable(Tensor(np.zeros(batch_size))).view(batch_size,1)
    const realY = netD.forward(X); // real_Y=net_D(X.float())
    const fakeX = netG.forward(Z); // fake_X=net_G(Z)
    const fakeY = netD.forward(fakeX); // fake_Y=net_D(fake_X)
    const lossD = loss.forward(realY, ones).add(loss.forward(fakeY, zeros)).div(2); // loss_D=(loss(real_Y,ones)+loss(fake_Y,zeros))/2
    lossD.backward(); // loss_D.backward()
    trainerD.step(); // trainer_D.step()
    return lossD.sum().item(); // return float(loss_D.sum())  (a readback: waits for the GPU)
  }

  // def update_G(Z,net_D,net_G,loss,trainer_G):
  async function updateG(Z: Tensor, netD: NetD, netG: NetG, loss: nn.BCELoss, trainerG: optim.Adam) {
    const batchSize = Z.size(0); // batch_size=Z.shape[0]
    const ones = kiln.ones([batchSize]).view(batchSize, 1); // ones=Variable(Tensor(np.ones((batch_size,)))).view(batch_size,1)
    const fakeX = netG.forward(Z); // fake_X=net_G(Z)
    const fakeY = netD.forward(fakeX); // fake_Y=net_D(fake_X)
    const lossG = loss.forward(fakeY, ones); // loss_G=loss(fake_Y,ones)
    lossG.backward(); // loss_G.backward()
    trainerG.step(); // trainer_G.step()
    return lossG.sum().item(); // return float(loss_G.sum())
  }

  // def train(net_D,net_G,data_iter,num_epochs,lr_D,lr_G,latent_dim,data):
  async function train(netD: NetD, netG: NetG, dataIter: data.DataLoader<data.HostArray[]>, numEpochs: number, lrD: number, lrG: number, latentDim: number) {
    const loss = new nn.BCELoss(); // loss=nn.BCELoss()
    const trainerD = new optim.Adam(netD.parameters(), { lr: lrD }); // trainer_D=torch.optim.Adam(net_D.parameters(),lr=lr_D)
    const trainerG = new optim.Adam(netG.parameters(), { lr: lrG }); // trainer_G=torch.optim.Adam(net_G.parameters(),lr=lr_G)
    const dLossPoint: number[] = []; // d_loss_point=[]
    const gLossPoint: number[] = []; // g_loss_point=[]
    let dLoss = 0; // d_loss=0
    let gLoss = 0; // g_loss=0
    for (let epoch = 1; epoch <= numEpochs; epoch++) { // for epoch in range(1,num_epochs+1):
      let dLossSum = 0; // d_loss_sum=0
      let gLossSum = 0; // g_loss_sum=0
      let batch = 0; // batch=0
      for await (const [X] of dataIter) { // for X in data_iter:  (a TensorDataset yields one-element lists)
        batch += 1; // batch+=1
        const batchSize = X.size(0); // batch_size=X.shape[0]
        const Z = kiln.randn([batchSize, latentDim]); // Z=Variable(Tensor(np.random.normal(0,1,(batch_size,latent_dim))))
        trainerD.zeroGrad(); // trainer_D.zero_grad()
        dLoss = await updateD(X, Z, netD, netG, loss, trainerD); // d_loss = update_D(X, Z, net_D, net_G, loss, trainer_D)
        dLossSum += dLoss; // d_loss_sum+=d_loss
        trainerG.zeroGrad(); // trainer_G.zero_grad()
        gLoss = await updateG(Z, netD, netG, loss, trainerG); // g_loss = update_G(Z, net_D, net_G, loss, trainer_G)
        gLossSum += gLoss; // g_loss_sum+=g_loss
      }
      dLossPoint.push(dLossSum / batch); // d_loss_point.append(d_loss_sum/batch)
      gLossPoint.push(gLossSum / batch); // g_loss_point.append(g_loss_sum/batch)
    }
    log(`${dLoss} ${gLoss}`); // print(d_loss,g_loss)
    const Z = kiln.randn([100, latentDim]); // Z =Variable(Tensor( np.random.normal(0, 1, size=(100, latent_dim))))
    const fakeX = await netG.forward(Z).detach().toArray(); // fake_X=net_G(Z).detach().numpy()
    return { dLossPoint, gLossPoint, fakeX };
  }

  // lr_D,lr_G,latent_dim,num_epochs=0.05,0.005,2,20
  const [lrD, lrG, latentDim, numEpochs] = [0.05, 0.005, 2, o.numEpochs ?? 20];
  const generator = new NetG(); // generator=net_G()
  const discriminator = new NetD(); // discriminator=net_D()
  log(String(discriminator)); // (printing a module, as print(net_D()) would)
  await o.onStart?.(generator, discriminator);
  // train(discriminator,generator,data_iter,num_epochs,lr_D,lr_G,latent_dim,data)
  const result = await train(discriminator, generator, dataIter, numEpochs, lrD, lrG, latentDim);
  return { ...result, generator, discriminator };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
