// Pathways front-end enhancements. Every page works without this file.
import { initAll } from '__GOVUK_FRONTEND_JS__'

document.body.classList.add('govuk-frontend-supported')
initAll()

// Exit this page: blank the page at once, then replace the history entry so that Back
// does not return here. Three presses of Shift do the same.
function exitPage (url) {
  document.title = 'Loading'
  document.body.innerHTML = ''
  document.body.style.background = '#ffffff'
  window.location.replace(url)
}

const exitButton = document.querySelector('.pw-exit-this-page__button')
if (exitButton) {
  exitButton.addEventListener('click', function (event) {
    event.preventDefault()
    exitPage(exitButton.getAttribute('href'))
  })
  let presses = 0
  let timer = null
  document.addEventListener('keyup', function (event) {
    if (event.key !== 'Shift') {
      presses = 0
      return
    }
    presses += 1
    clearTimeout(timer)
    timer = setTimeout(function () { presses = 0 }, 5000)
    if (presses >= 3) {
      exitPage(exitButton.getAttribute('href'))
    }
  })
}

// On survivor-safe pages, moving between pages replaces the history entry instead of
// adding one, so the whole visit is a single entry that Exit this page replaces.
if (document.body.hasAttribute('data-safe-browsing')) {
  document.addEventListener('click', function (event) {
    const link = event.target.closest('a[href]')
    if (!link || link.classList.contains('pw-exit-this-page__button')) return
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
    const url = new URL(link.href, window.location.href)
    if (url.origin !== window.location.origin || link.target) return
    event.preventDefault()
    window.location.replace(url.href)
  })
  document.addEventListener('submit', function (event) {
    const form = event.target
    if ((form.method || 'get').toLowerCase() !== 'get') return
    const url = new URL(form.action || window.location.href, window.location.href)
    if (url.origin !== window.location.origin) return
    event.preventDefault()
    url.search = new URLSearchParams(new FormData(form)).toString()
    window.location.replace(url.href)
  })
  // "Use my location" fills hidden fields from the browser's position, if the user agrees.
  const locate = document.querySelector('[data-pw-locate]')
  if (locate && 'geolocation' in navigator) {
    locate.hidden = false
    locate.addEventListener('click', function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        const form = locate.closest('form')
        form.querySelector('input[name=lat]').value = pos.coords.latitude.toFixed(5)
        form.querySelector('input[name=lon]').value = pos.coords.longitude.toFixed(5)
        form.requestSubmit()
      })
    })
  }
}

// The chair's timer: minutes and seconds since the case's page was opened.
const timer = document.querySelector('[data-pw-timer]')
if (timer) {
  const started = Date.now()
  setInterval(function () {
    const s = Math.floor((Date.now() - started) / 1000)
    timer.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0')
  }, 1000)
}
